/*
 * bench/sched_tick: the cost of the campaign engine's tick against a large
 * enrollment table.
 *
 *   make build/bench/sched_tick && build/bench/sched_tick [ENROLLED] [DIR]
 *
 * Writes ENROLLED contacts and active enrollments (default 1,000,000; by SQL,
 * not the CSV import) into DIR/sched_tick.db (default /tmp), none due; then
 * measures a tick with 0 due (averaged over 1,000), with 1,000 due and with
 * 100,000 due (each rendered, encoded, queued and advanced), and prints the
 * resident memory after each and the database size (deleted at the end). Figures go in
 * docs/benchmarks.md; nothing asserts on them.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config/conf.h"
#include "gateway/store.h"
#include "scheduler/sched_engine.h"

#define T0 1800000000LL  /* 2027-01-15T08:00:00Z: a weekday morning in Dublin */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

static struct conf *load_conf(const char *dir)
{
    char path[600], text[2048];
    snprintf(path, sizeof path, "%s/sched_tick.conf", dir);
    snprintf(text, sizeof text,
             "database = \"%s/sched_tick.db\";\n"
             "campaigns = ( { name = \"winback\"; steps = (\n"
             "  { after = \"0d\"; text = \"Hi {name|there}, we miss you! Use {code} for 10%% off. "
             "Reply STOP to opt out\"; },\n"
             "  { after = \"7d\"; text = \"Hi {name|there}, your code {code} is waiting\"; } ); } );\n",
             dir);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    struct conf_errors errs = { 0 };
    struct conf *c = conf_load(path, &errs);
    if (!c) {
        fprintf(stderr, "%s\n", errs.n ? errs.lines[0] : "config failed");
        exit(1);
    }
    conf_errors_free(&errs);
    return c;
}

static void exec_or_die(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, err);
        exit(1);
    }
}

/* ENROLLED contacts and enrollments, none due, in transactions of 50,000. */
static void fill(sqlite3 *db, long n)
{
    sqlite3_stmt *c, *e;
    sqlite3_prepare_v2(db, "INSERT INTO contacts (recipient, name, consent, attributes, "
                       "created_at, updated_at) VALUES (?1, ?2, 'yes', '{\"code\":\"SAVE10\"}', 0, 0)",
                       -1, &c, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO enrollments (recipient, campaign, next_due_at, created_at, "
                       "updated_at) VALUES (?1, 'winback', ?2, 0, 0)", -1, &e, NULL);
    double start = now();
    for (long i = 0; i < n; i++) {
        if (i % 50000 == 0)
            exec_or_die(db, i ? "COMMIT; BEGIN" : "BEGIN");
        char phone[32], name[32];
        snprintf(phone, sizeof phone, "+35387%07ld", i);
        snprintf(name, sizeof name, "Name%ld", i);
        sqlite3_bind_text(c, 1, phone, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(c, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(e, 1, phone, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(e, 2, T0 + 30 * 86400LL + i);
        if (sqlite3_step(c) != SQLITE_DONE || sqlite3_step(e) != SQLITE_DONE) {
            fprintf(stderr, "insert: %s\n", sqlite3_errmsg(db));
            exit(1);
        }
        sqlite3_reset(c);
        sqlite3_reset(e);
    }
    exec_or_die(db, "COMMIT");
    sqlite3_finalize(c);
    sqlite3_finalize(e);
    printf("setup: %ld contacts and enrollments by SQL in %.1f s\n", n, now() - start);
}

static void make_due(sqlite3 *db, long from_id, long count)
{
    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE enrollments SET next_due_at = %lld WHERE id >= %ld AND id < %ld",
             T0, from_id, from_id + count);
    exec_or_die(db, sql);
}

static void tick_due(struct sched_engine *eng, long due)
{
    struct sched_tick_result r;
    char err[512];
    double start = now();
    clock_t cpu = clock();
    if (sched_tick(eng, T0, (size_t)due * 2, &r, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    double s = now() - start;
    printf("tick with %ld due: %.3f s, %.3f s of CPU (%zu queued, %.0f steps/s), RSS %ld KB\n",
           due, s, (double)(clock() - cpu) / CLOCKS_PER_SEC, r.sent, (double)r.sent / s, rss_kb());
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    struct conf *conf = load_conf(dir);
    char err[512];
    remove(conf->database);
    struct store *st = store_open(conf->database, err, sizeof err);
    if (!st) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    sqlite3 *db = store_handle(st);
    fill(db, n);
    struct sched_engine *eng = sched_engine_new(st, conf, err, sizeof err);
    struct sched_tick_result r;
    double start = now();
    for (int i = 0; i < 1000; i++)
        sched_tick(eng, T0, 100000, &r, err, sizeof err);
    /* 1,000 ticks: their total in seconds is the mean in milliseconds. */
    printf("tick with 0 due among %ld enrolled: %.4f ms, RSS %ld KB\n", n, now() - start, rss_kb());
    make_due(db, 1, 1000);
    tick_due(eng, 1000);
    make_due(db, 1001, 100000);
    tick_due(eng, 100000);
    struct stat sb;
    if (stat(conf->database, &sb) == 0)
        printf("database: %.0f MB\n", (double)sb.st_size / 1e6);
    sched_engine_free(eng);
    store_close(st);
    char path[700];
    remove(conf->database);
    snprintf(path, sizeof path, "%s-wal", conf->database);
    remove(path);
    snprintf(path, sizeof path, "%s-shm", conf->database);
    remove(path);
    conf_free(conf);
    return 0;
}
