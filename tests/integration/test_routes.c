/*
 * Routes end to end: `homing run` with three SMPP binds to tools/smsc-sim.
 * A route with `rate` sends no faster than its rate across all its members
 * together (the simulator's own timestamps of the submits it accepted), its
 * other messages wait in the queue rather than fail, and they all go in the
 * end; a route without a rate is not held up behind it; and the limit is on
 * the service clock, so under --time-scale N the route sends N times faster
 * in real time. A route none of whose members is up holds its messages in
 * the queue, not failed, until their validity runs out (expired).
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/testutil.h"

static char dir[512], conf_path[700], log_path[700], sim_out[700], sub_log[700];
static char db_path[700], port_file[700];
static pid_t sim_pid, homing_pid;
static int sim_port;

static void paths(void)
{
    harness_paths(&(struct harness_paths){ .dir = dir, .conf = conf_path, .log = log_path,
                                            .db = db_path, .sim_out = sim_out, .sub_log = sub_log,
                                            .port_file = port_file });
}

static void start_sim(void)
{
    const char *extra[] = { "--receipts", "text", "--receipt-delay", "50", NULL };
    sim_pid = harness_start_smsc_sim(port_file, NULL, sub_log, sim_out, extra, &sim_port);
}

/* Binds c1, c2 and c3 to the simulator (c3 to a closed port when `c3_dead`); `routes` is the routes list. */
static void write_conf_with(const char *routes, bool c3_dead)
{
    char text[4096], binds[2048] = "";
    for (int i = 1; i <= 3; i++) {
        char one[400];
        snprintf(one, sizeof one,
                 "%s  { name = \"c%d\"; host = \"127.0.0.1\"; port = %d; system_id = \"homing\";\n"
                 "    password = \"secret\"; enquire_link = \"5s\"; }\n", i > 1 ? "," : "", i,
                 i == 3 && c3_dead ? 1 : sim_port);
        strcat(binds, one);
    }
    snprintf(text, sizeof text,
             "database = \"%s\";\nhttp = { listen = \"127.0.0.1:0\"; };\n"
             "smpp = (\n%s);\nroutes = (\n%s\n);\n", db_path, binds, routes);
    testutil_write_file(dir, "homing.conf", text);
}

static void write_conf(const char *routes)
{
    write_conf_with(routes, false);
}

static void start_homing(const char *time_scale)
{
    const char *argv[] = { testutil_program("homing"), "run", "-c", conf_path,
                           time_scale ? "--time-scale" : NULL, time_scale, NULL };
    homing_pid = testutil_spawn(argv, log_path);
}

static void stop_all(void)
{
    ck_assert_int_eq(harness_stop(&homing_pid, 15000), 0);
    harness_stop(&sim_pid, 5000);
}

static void exec_sql(const char *sql)
{
    harness_sql(db_path, sql);
}

static int count_sql(const char *sql)
{
    return (int)harness_query_int(db_path, sql);
}

/* Creates the database through the CLI, then queues `n` one-part messages to prefix+NNNNN. */
static void queue_messages(const char *prefix, int n)
{
    if (access(db_path, F_OK) != 0) {
        const char *send[] = { testutil_program("homing"), "send", "-c", conf_path,
                               "+12025550100", "create the database", NULL };
        char *out, *err;
        ck_assert_int_eq(testutil_exec(send, NULL, 20000, &out, &err), 0);
        free(out);
        free(err);
        exec_sql("DELETE FROM messages");
    }
    char sql[1024];
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
             "INSERT INTO messages (recipient, body, encoding, segments, state, next_attempt_at, "
             "expires_at, source, created_at, updated_at) SELECT printf('%s%%05d', i), "
             "printf('rated %%d', i), 'gsm7', 1, 'queued', 0, 4000000000, 'test', 0, 0 FROM n",
             n, prefix);
    exec_sql(sql);
}

struct submit {
    double at_ms;            /* the simulator's clock */
    int conn;
    char dest[32];
};

static double iso_ms(const char *t)
{
    struct tm tm = { 0 };
    int ms = 0;
    ck_assert(sscanf(t, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) == 7);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (double)timegm(&tm) * 1000.0 + ms;
}

/* The submits to numbers starting with `prefix` (digits, no '+'), in log order. */
static size_t read_submits(const char *prefix, struct submit *out, size_t max)
{
    size_t n = 0, i;
    json_t *list = harness_jsonl(sub_log), *j;
    json_array_foreach(list, i, j) {
        const char *d = json_string_value(json_object_get(json_object_get(j, "destination"), "addr"));
        if (d && strncmp(d, prefix, strlen(prefix)) == 0 && n < max) {
            out[n].at_ms = iso_ms(json_string_value(json_object_get(j, "time")));
            out[n].conn = (int)json_integer_value(json_object_get(j, "conn"));
            snprintf(out[n].dest, sizeof out[n].dest, "%s", d);
            n++;
        }
    }
    json_decref(list);
    return n;
}

static size_t wait_for_submits(const char *prefix, struct submit *out, size_t want, int timeout_ms)
{
    size_t n = 0;
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        if ((n = read_submits(prefix, out, want)) >= want)
            break;
        usleep(100 * 1000);
    }
    return n;
}

/*
 * The submits keep to `per_s` a second (real time) after a burst of at most
 * `burst`: between any two of them no more went than the bucket allows (one
 * more for scheduling jitter), and all of them took about as long as the rate
 * makes them, not much longer.
 */
static void assert_rate(const struct submit *s, size_t n, double per_s, int burst)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            double allowed = burst + per_s * (s[j].at_ms - s[i].at_ms) / 1000.0 + 1;
            ck_assert_msg((double)(j - i + 1) <= allowed,
                          "%zu submits in %.0f ms: over %.1f/s", j - i + 1,
                          s[j].at_ms - s[i].at_ms, per_s);
        }
    }
    double expected = ((double)n - burst) / per_s * 1000.0, took = s[n - 1].at_ms - s[0].at_ms;
    ck_assert_msg(took >= expected * 0.9 - 100, "%zu submits in %.0f ms: faster than %.1f/s", n,
                  took, per_s);
    ck_assert_msg(took <= expected * 1.5 + 1500, "%zu submits in %.0f ms: far slower than %.1f/s",
                  n, took, per_s);
}

static bool all_distinct(const struct submit *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(s[i].dest, s[j].dest) == 0)
                return false;
    return true;
}

START_TEST(rate_limited_route_holds_messages_at_its_rate_across_its_members)
{
    enum { RATED = 60, OPEN = 20, RATE = 10 };
    static struct submit rated[RATED + 10], open[OPEN + 10];
    start_sim();
    write_conf("  { match = \"+44\"; via = [ \"c3\" ]; },\n"
               "  { match = \"+\"; via = [ \"c1\", \"c2\" ]; strategy = \"round-robin\"; "
               "rate = 10; }");
    start_homing(NULL);
    for (int i = 1; i <= 3; i++) { /* queued once all are bound, so no bind starts late */
        char bound[32];
        snprintf(bound, sizeof bound, "bind=c%d bound", i);
        ck_assert_msg(testutil_wait_for_text(log_path, bound, 10000), "no '%s'", bound);
    }
    queue_messages("+35387", RATED);
    queue_messages("+4477009", OPEN);

    /* The open route is done while the rated one is part way, and nothing failed. */
    ck_assert_uint_eq(wait_for_submits("4477009", open, OPEN, 10000), OPEN);
    size_t so_far = read_submits("35387", rated, RATED);
    ck_assert_msg(so_far < RATED, "%zu of %d sent already", so_far, RATED);
    ck_assert_int_eq(count_sql("SELECT count(*) FROM messages WHERE state = 'failed'"), 0);
    ck_assert_int_gt(count_sql("SELECT count(*) FROM messages WHERE state = 'queued' AND "
                               "last_error LIKE 'held by the rate limit of route ''+''%'"), 0);

    size_t n = wait_for_submits("35387", rated, RATED, 30000);
    ck_assert_uint_eq(n, RATED);
    assert_rate(rated, n, RATE, RATE);
    ck_assert(all_distinct(rated, n));
    int conns[2] = { rated[0].conn, -1 };
    for (size_t i = 1; i < n && conns[1] < 0; i++)
        if (rated[i].conn != conns[0])
            conns[1] = rated[i].conn;
    ck_assert_msg(conns[1] >= 0, "the route's two binds were not both used");
    ck_assert(open[OPEN - 1].at_ms < rated[n - 1].at_ms - 2000); /* not held behind */

    usleep(500 * 1000);
    stop_all();
    ck_assert_int_eq(count_sql("SELECT count(*) FROM messages WHERE recipient LIKE '+35387%' "
                               "AND state IN ('sent', 'delivered')"), RATED);
    ck_assert_uint_eq(read_submits("35387", rated, RATED + 10), RATED); /* none twice */
}
END_TEST

START_TEST(the_rate_follows_the_service_clock)
{
    enum { N = 40, RATE = 3, SCALE = 4 };
    static struct submit s[N + 10];
    start_sim();
    write_conf("  { match = \"+\"; via = [ \"c1\", \"c2\", \"c3\" ]; strategy = \"least-busy\"; "
               "rate = 3; }");
    queue_messages("+35386", N);
    start_homing("4");
    size_t n = wait_for_submits("35386", s, N, 30000);
    ck_assert_uint_eq(n, N);
    assert_rate(s, n, RATE * SCALE, RATE);
    ck_assert(all_distinct(s, n));
    stop_all();
}
END_TEST

START_TEST(no_healthy_member_means_waiting_until_validity_runs_out)
{
    start_sim();
    write_conf_with("  { match = \"+44\"; via = [ \"c3\" ]; },\n"
                    "  { match = \"+\"; via = [ \"c1\" ]; }", true);
    queue_messages("+35385", 1);
    /* Valid five minutes on the service clock, which runs 60 times real time. */
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO messages (recipient, body, encoding, segments, state, next_attempt_at, "
             "expires_at, source, created_at, updated_at) VALUES ('+447700900123', 'nowhere to go', "
             "'gsm7', 1, 'queued', 0, %lld, 'test', 0, 0)", (long long)time(NULL) + 300);
    exec_sql(sql);
    start_homing("60");
    struct submit s[4];
    ck_assert_uint_eq(wait_for_submits("35385", s, 1, 10000), 1);
    ck_assert_int_eq(count_sql("SELECT count(*) FROM messages WHERE recipient = '+447700900123' AND "
                               "state = 'queued' AND last_error LIKE 'waiting for a modem or bind%'"),
                     1);
    for (int waited = 0; waited < 20000; waited += 100) {
        if (count_sql("SELECT count(*) FROM messages WHERE state = 'expired'") == 1)
            break;
        usleep(100 * 1000);
    }
    ck_assert_int_eq(count_sql("SELECT count(*) FROM messages WHERE recipient = '+447700900123' AND "
                               "state = 'expired'"), 1);
    ck_assert_uint_eq(read_submits("447700900123", s, 4), 0);
    stop_all();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("routes");
    TCase *t = tcase_create("routes");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, paths, NULL);
    tcase_add_test(t, rate_limited_route_holds_messages_at_its_rate_across_its_members);
    tcase_add_test(t, the_rate_follows_the_service_clock);
    tcase_add_test(t, no_healthy_member_means_waiting_until_validity_runs_out);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
