/*
 * A property test of suppression: with a seeded random interleaving of
 * enqueues (HTTP), STOP and START (mobile-originated, through smsc-sim),
 * pauses that let the dispatcher run, and stretches where the SMSC answers
 * too late (so submits time out and go back in the queue, the at-least-once
 * path), no message is ever handed to the driver for a recipient while that
 * recipient is opted out.
 *
 * "While opted out", precisely. The service runs one thread, so its log is
 * in program order; with log.level = debug it writes
 *   - "inbound id=I ... from=F keyword=STOP ..." right after the transaction
 *     that committed the opt-out of F (and keyword=START after an opt-in),
 *   - "msg=N to driver=carrier" right before message N is handed to the
 *     driver (dispatch.c hand_over()).
 * Recipient R is opted out from its STOP line to its next START line. A
 * message of R handed over in between (other than the STOP confirmation,
 * source "consent") is a violation. The store backs the log up: every
 * STOP/START line has its committed opt-out/opt-in event in `events`, in
 * the same order, and message N's recipient and source are read from
 * `messages`. A part handed over before the opt-out committed and answered
 * after it is in flight, not a violation; that is why store seconds
 * (parts.submitted_at) alone cannot decide, and the log order does.
 *
 * The seed is printed; set CONSENT_SEED to replay the same sequence of
 * operations (the timing of the service, and so the exact interleaving, can
 * still differ). The run lasts about 25 s.
 */
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/testutil.h"

#define TOKEN "property-token"
#define N_RECIPIENTS 4
#define RUN_MS 17000
#define MAX_MSGS 20000

static char dir[512], conf_path[700], log_path[700], sim_out[700], ctl_path[700];
static char db_path[700], port_file[700];
static pid_t sim_pid, homing_pid;
static int sim_port, http_port;
static uint64_t rng;

static const char *const recipients[N_RECIPIENTS] = { "+353875550001", "+353875550002",
                                                      "+353875550003", "+353875550004" };

static uint32_t next_random(void)
{
    rng ^= rng << 13; /* xorshift64 */
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void paths(void)
{
    harness_paths(&(struct harness_paths){ .dir = dir, .conf = conf_path, .log = log_path,
                                            .db = db_path, .ctl = ctl_path, .sim_out = sim_out,
                                            .port_file = port_file });
}

static void start_all(void)
{
    sim_pid = harness_start_smsc_sim(port_file, ctl_path, NULL, sim_out, NULL, &sim_port);
    char text[2048];
    snprintf(text, sizeof text,
             "database = \"%s\";\n"
             "log = { level = \"debug\"; };\n"
             "http = { listen = \"127.0.0.1:0\"; token = \"" TOKEN "\"; };\n"
             "retry = { backoff = \"1s\"; max_backoff = \"1s\"; attempts = 50; };\n"
             "smpp = ( { name = \"carrier\"; host = \"127.0.0.1\"; port = %d;\n"
             "  system_id = \"homing\"; password = \"secret\"; window = 4; tps = 2000;\n"
             "  response_timeout = \"1s\"; enquire_link = \"5s\"; reconnect_max = \"1s\";\n"
             "  receipts = false; } );\n",
             db_path, sim_port);
    testutil_write_file(dir, "homing.conf", text);
    const char *run[] = { testutil_program("homing"), "run", "-c", conf_path, NULL };
    homing_pid = testutil_spawn(run, log_path);
    ck_assert_msg(testutil_wait_for_text(log_path, "bind=carrier bound (transceiver)", 10000),
                  "not bound");
    http_port = harness_http_port(log_path);
    ck_assert_int_gt(http_port, 0);
}

static void stop_all(void)
{
    ck_assert_int_eq(harness_stop(&homing_pid, 20000), 0);
    harness_stop(&sim_pid, 5000);
}

/* One control command; true when the simulator answered ok. */
static bool ctl(const char *cmd)
{
    const char *reply = harness_ctl_reply(ctl_path, cmd);
    return reply && strncmp(reply, "ok", 2) == 0;
}

/* POST /v1/messages; returns the HTTP status. */
static int post_message(const char *to, int n)
{
    char payload[200], *body;
    snprintf(payload, sizeof payload, "{\"to\":\"%s\",\"text\":\"offer %d\"}", to, n);
    int status = harness_http(http_port, "POST", "/v1/messages", TOKEN, "application/json",
                              payload, &body);
    free(body);
    return status;
}

struct tally {
    int posted, refused, stops, starts, slow_toggles;
};

/* One random operation. */
static void random_op(struct tally *t)
{
    static bool slow;
    char cmd[200];
    const char *who = recipients[next_random() % N_RECIPIENTS];
    uint32_t pick = next_random() % 100;
    if (pick < 50) {
        int status = post_message(who, t->posted + t->refused);
        ck_assert_msg(status == 202 || status == 422, "POST answered %d", status);
        t->posted += status == 202;
        t->refused += status == 422;
    } else if (pick < 73) {
        bool stop = pick < 65; /* START less often: an opt-out lasts past a retry */
        snprintf(cmd, sizeof cmd, "mo %s +353870000000 %s", who, stop ? "STOP" : "START");
        if (ctl(cmd))
            *(stop ? &t->stops : &t->starts) += 1;
    } else if (pick < 88) {
        usleep((50 + next_random() % 150) * 1000); /* the dispatcher runs */
    } else {
        slow = !slow; /* answers later than response_timeout: submits time out and retry */
        ck_assert(ctl(slow ? "slow 1500" : "slow 0"));
        t->slow_toggles++;
    }
    usleep((next_random() % 30) * 1000);
}

/* Recipient and source of every message, by id. */
struct msg_info {
    char who[20];
    bool consent;
};

static void read_messages(struct msg_info *info, int max)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT id, recipient, source FROM messages", -1, &s,
                                        NULL), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
        int id = sqlite3_column_int(s, 0);
        ck_assert_int_lt(id, max);
        snprintf(info[id].who, sizeof info[id].who, "%s", (const char *)sqlite3_column_text(s, 1));
        info[id].consent = strcmp((const char *)sqlite3_column_text(s, 2), "consent") == 0;
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* The opt-out/opt-in events the store committed, in order: "+R out", "+R in" lines. */
static char *committed_consent(void)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT entity_id, action FROM events WHERE entity = "
                                        "'consent' ORDER BY id", -1, &s, NULL), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW && len + 64 < cap)
        len += (size_t)snprintf(out + len, cap - len, "%s %s\n", sqlite3_column_text(s, 0),
                                strcmp((const char *)sqlite3_column_text(s, 1), "opt-out") == 0
                                    ? "out" : "in");
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
}

/* The log's masked form of a number: "+35387***01". */
static int recipient_index_of_mask(const char *mask)
{
    for (int i = 0; i < N_RECIPIENTS; i++) {
        char m[32];
        snprintf(m, sizeof m, "%.6s***%s", recipients[i], recipients[i] + 11);
        if (strncmp(mask, m, strlen(m)) == 0)
            return i;
    }
    return -1;
}

static int recipient_index(const char *who)
{
    for (int i = 0; i < N_RECIPIENTS; i++)
        if (strcmp(recipients[i], who) == 0)
            return i;
    return -1;
}

struct verdict {
    int handovers, violations, optouts, optins;
    char first[300];
    char consent_log[1 << 16];   /* opt-outs and opt-ins as the log saw them */
    size_t consent_len;
};

/* Applies one log line to the opted-out state and counts what it shows. */
static void judge_line(const char *line, bool opted_out[], const struct msg_info *info,
                       struct verdict *v)
{
    const char *p;
    if ((p = strstr(line, " inbound id=")) && strstr(line, " keyword=")) {
        const char *from = strstr(p, " from=");
        int r = from ? recipient_index_of_mask(from + 6) : -1;
        bool out = strstr(line, " keyword=STOP ") != NULL;
        ck_assert_msg(r >= 0 && (out || strstr(line, " keyword=START ")), "%s", line);
        opted_out[r] = out;
        *(out ? &v->optouts : &v->optins) += 1;
        v->consent_len += (size_t)snprintf(v->consent_log + v->consent_len,
                                           sizeof v->consent_log - v->consent_len, "%s %s\n",
                                           recipients[r], out ? "out" : "in");
    } else if ((p = strstr(line, " debug msg=")) && strstr(p, " to driver=carrier")) {
        int id = atoi(p + 11);
        ck_assert(id > 0 && id < MAX_MSGS);
        int r = recipient_index(info[id].who);
        ck_assert_msg(r >= 0, "msg=%d has no known recipient", id);
        v->handovers++;
        if (opted_out[r] && !info[id].consent && v->violations++ == 0)
            snprintf(v->first, sizeof v->first, "%s (to %s)", line, info[id].who);
    }
}

static void judge(struct verdict *v)
{
    static struct msg_info info[MAX_MSGS];
    bool opted_out[N_RECIPIENTS] = { false };
    memset(info, 0, sizeof info);
    memset(v, 0, sizeof *v);
    read_messages(info, MAX_MSGS);
    char *text = testutil_read_file(log_path);
    ck_assert_ptr_nonnull(text);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        judge_line(line, opted_out, info, v);
    free(text);
}

START_TEST(no_message_is_handed_over_while_opted_out)
{
    const char *env = getenv("CONSENT_SEED");
    uint64_t seed = env && *env ? strtoull(env, NULL, 10)
                                : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    fprintf(stderr, "test_consent_property: seed=%llu (CONSENT_SEED=%llu replays it)\n",
            (unsigned long long)seed, (unsigned long long)seed);
    rng = seed ? seed : 1;
    start_all();
    struct tally t = { 0 };
    for (long long end = now_ms() + RUN_MS; now_ms() < end;)
        random_op(&t);
    ck_assert(ctl("slow 0"));
    /* Let what is queued go (or be suppressed) before judging. */
    for (int i = 0; i < 60; i++) {
        sqlite3 *db;
        sqlite3_stmt *s;
        ck_assert_int_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        sqlite3_prepare_v2(db, "SELECT count(*) FROM messages WHERE state IN ('queued', "
                           "'sending')", -1, &s, NULL);
        int left = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
        sqlite3_finalize(s);
        sqlite3_close(db);
        if (left == 0)
            break;
        usleep(100 * 1000);
    }
    stop_all();
    struct verdict v;
    judge(&v);
    fprintf(stderr, "test_consent_property: seed=%llu posted=%d refused=%d stops=%d starts=%d "
            "slow_toggles=%d handovers=%d optouts=%d optins=%d violations=%d\n",
            (unsigned long long)seed, t.posted, t.refused, t.stops, t.starts, t.slow_toggles,
            v.handovers, v.optouts, v.optins, v.violations);
    ck_assert_msg(v.violations == 0, "seed=%llu: %d messages handed over while opted out; "
                  "first: %s", (unsigned long long)seed, v.violations, v.first);
    /* The log's opt-outs and opt-ins are the store's committed ones, in the same order. */
    char *committed = committed_consent();
    ck_assert_str_eq(v.consent_log, committed);
    free(committed);
    /* The run exercised what it claims to. */
    ck_assert_int_ge(v.handovers, 20);
    ck_assert_int_ge(v.optouts, 5);
    ck_assert_int_ge(v.optins, 5);
    ck_assert_int_ge(t.refused, 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("consent_property");
    TCase *t = tcase_create("interleavings");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, paths, NULL);
    tcase_add_test(t, no_message_is_handed_over_while_opted_out);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
