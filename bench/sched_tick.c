/*
 * bench/sched_tick: the cost of one campaign engine tick, for bench/scheduler.sh.
 *
 *   build/bench/sched_tick CONF NOW MAX REPEAT
 *
 * Opens CONF's database, makes the engine and calls sched_tick(NOW, MAX)
 * REPEAT times, printing one line:
 *
 *   sent=N quiet=N capped=N first_ms=X median_ms=X max_rss_kib=N
 *
 * first_ms is the first call (the one that finds what the script made due);
 * median_ms is over all calls (the later ones find nothing due). The script
 * decides what is due by setting enrollments.next_due_at before the run.
 *
 * Built by `make bench` with the other bench programs; without arguments (as `make
 * bench` runs it) it says how to use it and exits 0. Until the engine
 * (scheduler/sched_engine.h) is in the tree it only says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "config/conf.h"
#include "gateway/store.h"
#include "scheduler/sched_engine.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int run(struct store *st, const struct conf *conf, int64_t now, size_t max, int repeat)
{
    char err[512];
    struct sched_engine *e = sched_engine_new(st, conf, err, sizeof err);
    if (!e)
        return fprintf(stderr, "sched_tick: %s\n", err), 1;
    double *ms = calloc((size_t)repeat, sizeof *ms);
    struct sched_tick_result first = { 0 }, r;
    for (int i = 0; i < repeat && ms; i++) {
        double t0 = now_ms();
        if (sched_tick(e, now, max, &r, err, sizeof err) != STORE_OK) {
            fprintf(stderr, "sched_tick: %s\n", err);
            break;
        }
        ms[i] = now_ms() - t0;
        if (i == 0)
            first = r;
    }
    double first_ms = ms ? ms[0] : 0;
    if (ms)
        qsort(ms, (size_t)repeat, sizeof *ms, cmp_double);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("sent=%zu quiet=%zu capped=%zu first_ms=%.3f median_ms=%.3f max_rss_kib=%ld\n",
           first.sent, first.quiet, first.capped, first_ms, ms ? ms[repeat / 2] : 0,
           ru.ru_maxrss);
    free(ms);
    sched_engine_free(e);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        puts("usage: sched_tick CONF NOW MAX REPEAT (bench/scheduler.sh runs it)");
        return 0;
    }
    struct conf_errors errs = { 0 };
    struct conf *conf = conf_load(argv[1], &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.lines[i]);
    conf_errors_free(&errs);
    if (!conf)
        return 2;
    char err[512];
    struct store *st = store_open(conf->database, err, sizeof err);
    if (!st) {
        fprintf(stderr, "sched_tick: %s\n", err);
        conf_free(conf);
        return 1;
    }
    int repeat = atoi(argv[4]);
    int rc = run(st, conf, strtoll(argv[2], NULL, 10), (size_t)strtoull(argv[3], NULL, 10),
                 repeat > 0 ? repeat : 1);
    store_close(st);
    conf_free(conf);
    return rc;
}
