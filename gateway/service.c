/*
 * service: the daemon's life cycle. Later capabilities (drivers, dispatcher,
 * HTTP API, scheduler) hang off the loop created here; this file only starts,
 * ticks, reloads and stops.
 */
#include "gateway/service.h"

#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/conf.h"
#include "gateway/clock.h"
#include "gateway/dispatch.h"
#include "gateway/http.h"
#include "gateway/log.h"
#include "gateway/loop.h"
#include "gateway/smpp.h"
#include "gateway/store.h"
#include "gateway/webhooks.h"
#include "modem/modem.h"
#include "scheduler/sched_engine.h"
#include "scheduler/sched_tz.h"

/* Due steps one loop turn handles before letting other events in. */
#define SCHED_STEPS_PER_TURN 2000

#define SERVICE_BUSY_TIMEOUT_MS 500

struct service {
    const char *config_path;
    struct conf *conf;
    struct store *store;
    struct loop *loop;
    struct loop_event *tick, *sigterm, *sigint, *sighup;
    struct dispatch *dispatch;
    struct webhooks *webhooks;
    struct http_api *http;
    struct sched_engine *engine;
    struct loop_event *sched_timer;   /* armed for the next due step */
    int64_t sched_due;                /* what it is armed for; -1: not armed */
    struct loop_event *stop_check;
    int64_t stop_deadline;
    struct modem **modems;
    size_t n_modems;
    struct smpp **binds;
    size_t n_binds;
    char status_seen[4096];    /* the last status written, to write only changes */
    int64_t status_written_at;
    int64_t queued_reported;   /* last queue depth logged, to log changes only */
};

static void apply_log_settings(const struct conf *conf)
{
    enum log_level level = LOG_LEVEL_INFO;
    log_level_parse(conf->log.level, &level);
    log_init("homing", level, conf->log.syslog);
}

static void log_configuration(const struct service *svc)
{
    const struct conf *c = svc->conf;
    log_info("homing starting version=%s config=%s pid=%d", HOMING_VERSION, c->path,
             (int)getpid());
    log_info("store opened path=%s schema_version=%d", c->database,
             store_schema_version(svc->store));
    log_info("configured modems=%zu smpp_binds=%zu routes=%zu campaigns=%zu country=%s",
             c->n_modems, c->n_smpp, c->n_routes, c->n_campaigns, c->defaults.country);
    for (size_t i = 0; i < c->n_modems; i++)
        log_info("modem=%s port=%s baud=%lld", c->modems[i].name, c->modems[i].port,
                 (long long)c->modems[i].baud);
    for (size_t i = 0; i < c->n_smpp; i++)
        log_info("bind=%s host=%s port=%lld system_id=%s", c->smpp[i].name, c->smpp[i].host,
                 (long long)c->smpp[i].port, c->smpp[i].system_id);
    if (c->n_routes == 0 && c->n_modems + c->n_smpp > 0)
        log_info("no routes configured: every modem and bind carries every recipient, in the "
                 "order configured");
    if (c->n_modems == 0 && c->n_smpp == 0)
        log_warnx("no modem or SMPP bind is configured: messages are accepted and queued, "
                  "and wait until a route exists (add modems or smpp in %s)", c->path);
    if (clock_scale() != 1.0) {
        char at[40];
        log_warnx("clock runs %.0fx real time from %s: for demos and tests only",
                  clock_scale(), clock_iso8601(clock_now(), at, sizeof at));
    }
}

static void report_queue(struct service *svc)
{
    int64_t counts[MSG_STATE_COUNT];
    char err[256];
    if (store_count_by_state(svc->store, counts, err, sizeof err) != STORE_OK) {
        log_error("store count failed: %s", err);
        return;
    }
    if (counts[MSG_QUEUED] > 0 && counts[MSG_QUEUED] != svc->queued_reported &&
        svc->conf->n_routes == 0)
        log_info("queue depth queued=%lld: waiting for a route", (long long)counts[MSG_QUEUED]);
    svc->queued_reported = counts[MSG_QUEUED];
}

/* Under a time scale, the CLI reads the service's clock from the store. */
static void publish_clock(struct service *svc)
{
    char err[256];
    enum store_rc rc;
    if (clock_scale() == 1.0) {
        rc = store_clock_clear(svc->store, err, sizeof err);
    } else {
        struct store_clock c = { .virtual_ms = clock_now_ms(), .scale = clock_scale(),
                                 .wall_ms = clock_wall_ms() };
        rc = store_clock_write(svc->store, &c, err, sizeof err);
    }
    if (rc != STORE_OK)
        log_error("store clock: %s", err);
}

/* Publishes the drivers' health for `homing status`: on change, and every 10 s. */
static void publish_status(struct service *svc)
{
    size_t n = dispatch_driver_count(svc->dispatch);
    struct store_driver_status *rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows)
        abort();
    char seen[sizeof svc->status_seen] = "";
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        const struct driver *d = dispatch_driver(svc->dispatch, i);
        struct driver_health h = { 0 };
        d->ops->health(d->self, &h);
        rows[i] = (struct store_driver_status){
            .name = d->name, .kind = d->kind, .up = h.up, .state = h.state,
            .signal_dbm = h.signal_dbm, .registration = h.registration,
            .operator_name = h.operator_name, .in_flight = h.in_flight,
        };
        int w = snprintf(seen + used, sizeof seen - used, "%s|%d|%s|%d|%s|%d;", d->name, h.up,
                         h.state, h.signal_dbm, h.registration ? h.registration : "", h.in_flight);
        used = w > 0 && (size_t)w < sizeof seen - used ? used + (size_t)w : used;
    }
    int64_t wall = clock_wall_ms() / 1000;
    char err[256];
    if (strcmp(seen, svc->status_seen) != 0 || wall - svc->status_written_at >= 10) {
        if (store_driver_status_write(svc->store, rows, n, wall, err, sizeof err) != STORE_OK) {
            log_error("store: %s", err);
        } else {
            memcpy(svc->status_seen, seen, sizeof seen);
            svc->status_written_at = wall;
        }
    }
    free(rows);
}

/* --- the campaign engine -------------------------------------------------- */

static void on_sched_timer(void *arg);

/*
 * Arms the engine's timer for `due` (service-clock seconds): under
 * --time-scale N a wait of D virtual seconds is D/N real ones, so a step
 * still lands in its minute. The timer is made anew each time because an
 * armed one cannot be moved earlier.
 */
static void arm_scheduler(struct service *svc, int64_t due)
{
    if (svc->sched_timer && due == svc->sched_due)
        return;
    svc->sched_due = due;
    int64_t wait_ms = (int64_t)((double)(due * 1000 - clock_now_ms()) / clock_scale());
    wait_ms = wait_ms > 0 ? wait_ms + 1 : 0;
    loop_event_free(svc->sched_timer);
    svc->sched_timer = loop_deferred_new(svc->loop, on_sched_timer, svc);
    if (!svc->sched_timer)
        abort();
    loop_event_arm(svc->sched_timer, wait_ms);
}

/* Looks up the next due step and arms the timer for it (enrollments may come from the CLI). */
static void schedule_engine(struct service *svc)
{
    int64_t due;
    char err[256];
    enum store_rc rc = sched_next_due(svc->engine, &due, err, sizeof err);
    if (rc == STORE_OK)
        arm_scheduler(svc, due);
    else if (rc != STORE_NOT_FOUND)
        log_error("%s", err);
}

static void on_sched_timer(void *arg)
{
    struct service *svc = arg;
    struct sched_tick_result r;
    char err[256];
    svc->sched_due = -1; /* fired: whatever comes next arms it again */
    if (sched_tick(svc->engine, clock_now(), SCHED_STEPS_PER_TURN, &r, err, sizeof err) != STORE_OK) {
        log_error("%s", err);
        return; /* the service tick tries again */
    }
    if (r.sent + r.quiet + r.capped + r.ended + r.completed > 0)
        log_info("campaign steps sent=%zu waiting_quiet_hours=%zu waiting_cap=%zu ended=%zu "
                 "completed=%zu", r.sent, r.quiet, r.capped, r.ended, r.completed);
    if (r.sent > 0)
        dispatch_run(svc->dispatch);
    if (r.more)
        arm_scheduler(svc, 0);
    else
        schedule_engine(svc);
}

/* An enrollment made over HTTP: wake the engine for its first step when that is sooner. */
static void on_enrolled(void *arg, int64_t next_due_at)
{
    struct service *svc = arg;
    if (svc->engine && (svc->sched_due < 0 || next_due_at < svc->sched_due))
        arm_scheduler(svc, next_due_at);
}

static void on_tick(void *arg)
{
    struct service *svc = arg;
    int64_t expired = 0;
    char err[256];
    if (clock_scale() != 1.0)
        publish_clock(svc);
    if (store_expire_due(svc->store, clock_now(), &expired, err, sizeof err) != STORE_OK)
        log_error("store expire failed: %s", err);
    else if (expired > 0)
        log_info("messages expired count=%lld reason=validity", (long long)expired);
    dispatch_tick(svc->dispatch);
    if (svc->engine)
        schedule_engine(svc);
    publish_status(svc);
    if (dispatch_driver_count(svc->dispatch) == 0)
        report_queue(svc); /* counting the table costs: only when nothing can send */
}

static void on_stop_check(void *arg)
{
    struct service *svc = arg;
    int left = dispatch_in_flight(svc->dispatch);
    if (left > 0 && clock_mono_ms() < svc->stop_deadline)
        return;
    if (left > 0) {
        log_warnx("shutdown grace of %llds over with %d message%s in flight: they are sent "
                  "again at the next start", (long long)svc->conf->service.shutdown_grace, left,
                  left == 1 ? "" : "s");
        dispatch_log_in_flight(svc->dispatch);
    }
    loop_stop(svc->loop);
}

/*
 * First SIGTERM/SIGINT: take no more messages (the HTTP API closes, the
 * dispatcher claims nothing), let the parts already with a modem or SMSC
 * finish for up to service.shutdown_grace, then stop. A second signal stops
 * at once.
 */
static void on_stop(void *arg)
{
    struct service *svc = arg;
    if (svc->stop_check) {
        log_info("second stop signal: stopping now");
        loop_stop(svc->loop);
        return;
    }
    int64_t grace_s = svc->conf->service.shutdown_grace;
    log_info("signal received: stopping; no new messages, waiting up to %llds for parts in flight",
             (long long)grace_s);
    http_api_free(svc->http); /* answers what it holds, then closes the listener */
    svc->http = NULL;
    dispatch_stop(svc->dispatch);
    svc->stop_deadline = clock_mono_ms() + grace_s * 1000;
    svc->stop_check = loop_timer_new(svc->loop, 100, 1, on_stop_check, svc);
    on_stop_check(svc);
}

static void on_reload(void *arg)
{
    struct service *svc = arg;
    struct conf_errors errs = { 0 };
    log_info("signal SIGHUP: reloading config=%s", svc->config_path);
    struct conf *next = conf_load(svc->config_path, &errs);
    for (size_t i = 0; i < errs.n; i++)
        log_error("config reload: %s", errs.lines[i]);
    conf_errors_free(&errs);
    if (!next) {
        log_error("config reload rejected: keeping the running configuration");
        return;
    }
    if (strcmp(next->database, svc->conf->database) != 0)
        log_warnx("config reload: database changed to %s; it takes effect at the next start",
                  next->database);
    if (next->n_modems != svc->conf->n_modems || next->n_smpp != svc->conf->n_smpp)
        log_warnx("config reload: modems and SMPP binds change at the next start; routes, "
                  "retries and logging change now");
    dispatch_set_conf(svc->dispatch, next);
    sched_engine_set_conf(svc->engine, next);
    webhooks_set_conf(svc->webhooks, next);
    if (svc->http)
        http_api_set_conf(svc->http, next, svc->conf); /* frees it once the thread lets go */
    else
        conf_free(svc->conf);
    svc->conf = next;
    apply_log_settings(svc->conf);
    log_info("config reloaded modems=%zu smpp_binds=%zu routes=%zu", next->n_modems,
             next->n_smpp, next->n_routes);
}

static bool start_events(struct service *svc)
{
    /* Broken pipes are reported as write errors on the socket, not as a signal. */
    signal(SIGPIPE, SIG_IGN);
    svc->loop = loop_new();
    if (!svc->loop)
        return false;
    svc->tick = loop_timer_new(svc->loop, svc->conf->service.tick * 1000, 1, on_tick, svc);
    svc->sigterm = loop_signal_new(svc->loop, SIGTERM, on_stop, svc);
    svc->sigint = loop_signal_new(svc->loop, SIGINT, on_stop, svc);
    svc->sighup = loop_signal_new(svc->loop, SIGHUP, on_reload, svc);
    return svc->tick && svc->sigterm && svc->sigint && svc->sighup;
}

/* Drivers report to the dispatcher; it must exist first and go last. */
static void start_drivers(struct service *svc)
{
    svc->dispatch = dispatch_new(svc->store, svc->conf, svc->loop);
    svc->webhooks = webhooks_new(svc->loop, svc->store, svc->conf);
    dispatch_set_webhooks(svc->dispatch, svc->webhooks);
    svc->n_modems = svc->conf->n_modems;
    svc->modems = calloc(svc->n_modems ? svc->n_modems : 1, sizeof *svc->modems);
    if (!svc->modems)
        abort();
    for (size_t i = 0; i < svc->n_modems; i++) {
        svc->modems[i] = modem_new(&svc->conf->modems[i], svc->loop,
                                   dispatch_events(svc->dispatch));
        dispatch_add(svc->dispatch, modem_driver(svc->modems[i]));
    }
    svc->n_binds = svc->conf->n_smpp;
    svc->binds = calloc(svc->n_binds ? svc->n_binds : 1, sizeof *svc->binds);
    if (!svc->binds)
        abort();
    for (size_t i = 0; i < svc->n_binds; i++) {
        svc->binds[i] = smpp_new(&svc->conf->smpp[i], svc->loop, dispatch_events(svc->dispatch));
        dispatch_add(svc->dispatch, smpp_driver(svc->binds[i]));
    }
}

static void recover_interrupted(struct service *svc)
{
    int64_t n = 0;
    char err[256];
    if (store_recover(svc->store, clock_now(), &n, err, sizeof err) != STORE_OK)
        log_error("store: %s", err);
    else if (n > 0)
        log_warnx("requeued count=%lld messages interrupted by the last stop; parts already "
                  "accepted are not sent again", (long long)n);
}

static bool start_engine(struct service *svc)
{
    char err[256];
    svc->engine = sched_engine_new(svc->store, svc->conf, err, sizeof err);
    if (!svc->engine) {
        log_error("%s", err);
        return false;
    }
    schedule_engine(svc);
    return true;
}

static bool start_http(struct service *svc)
{
    char err[256];
    struct http_deps deps = { .loop = svc->loop, .store = svc->store,
                              .dispatch = svc->dispatch, .conf = svc->conf,
                              .enrolled = on_enrolled, .arg = svc };
    svc->http = http_api_start(&deps, err, sizeof err);
    if (!svc->http) {
        log_error("http: %s", err);
        return false;
    }
    log_info("http listening on %s port=%d", svc->conf->http.listen, http_api_port(svc->http));
    return true;
}

static void service_free(struct service *svc)
{
    loop_event_free(svc->stop_check);
    http_api_free(svc->http);
    for (size_t i = 0; i < svc->n_modems; i++)
        modem_free(svc->modems[i]);
    free(svc->modems);
    for (size_t i = 0; i < svc->n_binds; i++)
        smpp_free(svc->binds[i]);
    free(svc->binds);
    loop_event_free(svc->sched_timer);
    sched_engine_free(svc->engine);
    sched_tz_cache_free();
    dispatch_free(svc->dispatch);
    webhooks_free(svc->webhooks);
    loop_event_free(svc->tick);
    loop_event_free(svc->sigterm);
    loop_event_free(svc->sigint);
    loop_event_free(svc->sighup);
    loop_free(svc->loop);
    store_close(svc->store);
    conf_free(svc->conf);
}

static bool load_config(struct service *svc)
{
    struct conf_errors errs = { 0 };
    svc->conf = conf_load(svc->config_path, &errs);
    for (size_t i = 0; i < errs.n; i++)
        log_error("%s", errs.lines[i]);
    conf_errors_free(&errs);
    if (!svc->conf)
        log_error("configuration %s has errors: not starting", svc->config_path);
    return svc->conf != NULL;
}

int service_run(const struct service_options *opt)
{
    struct service svc = { .config_path = opt->config_path, .queued_reported = -1,
                           .sched_due = -1 };
    log_init("homing", LOG_LEVEL_INFO, false);
    /*
     * A malloc arena for each of the service's four threads (main, HTTP,
     * sync, checkpoint), not glibc's eight per CPU. One arena for all was
     * tried for memory: it saved about 0.1 MiB at peak, but the HTTP and main
     * threads then queued for its lock on every allocation (evhttp and
     * sqlite allocate for every request and row), and bench/queue's bind
     * line went from 0.043 to 0.052 CPU-ms per message (22,000 messages a
     * second instead of 27,000).
     */
    mallopt(M_ARENA_MAX, 4);
    /*
     * Free memory at the heap's top goes back to the system only past 4 MiB.
     * With glibc's 128 KiB, the pages sqlite frees whenever the other thread's
     * connection has committed went back and were faulted in again, a brk()
     * pair thousands of times a second: 6% of the CPU per message on
     * bench/queue's bind line, and no lower peak (the peak is reached anyway).
     */
    mallopt(M_TRIM_THRESHOLD, 4 << 20);
    if (!load_config(&svc))
        return 2;
    apply_log_settings(svc.conf);
    if (opt->time_scale > 0 && opt->time_scale != 1.0)
        clock_set_scale(opt->time_scale, opt->start_at ? opt->start_at : clock_now());
    char err[512];
    svc.store = store_open(svc.conf->database, err, sizeof err);
    if (!svc.store) {
        log_error("store: %s", err);
        service_free(&svc);
        return 1;
    }
    if (!start_events(&svc)) {
        log_error("cannot set up the event loop");
        service_free(&svc);
        return 1;
    }
    log_configuration(&svc);
    recover_interrupted(&svc);
    /*
     * From here a lock held by another process stalls the whole loop while a
     * call waits for it: wait briefly, then fail (HTTP 503, reports kept and
     * committed later, claims tried again next tick).
     */
    store_set_busy_timeout(svc.store, SERVICE_BUSY_TIMEOUT_MS);
    start_drivers(&svc);
    if (!start_http(&svc)) {
        service_free(&svc);
        return 1;
    }
    if (!start_engine(&svc)) {
        service_free(&svc);
        return 1;
    }
    publish_clock(&svc);
    log_info("ready");
    int rc = loop_run(svc.loop);
    service_free(&svc);
    log_info("stopped cleanly");
    return rc == 0 ? 0 : 1;
}
