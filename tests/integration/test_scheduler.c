/*
 * The campaign engine in the real binary under virtual time (`homing run
 * --time-scale N --start-at T`) against tools/modem-sim: a 3-step sequence
 * over 31 days goes out on time; a step due at night in the recipient's zone
 * goes at 08:00 on their clock, the night the clocks change included; the
 * frequency cap defers a second campaign; SIGKILLs during ticks never
 * duplicate or skip a step.
 *
 * Contacts come from `homing contacts import`. Enrollments that must fall
 * due at a precise virtual instant are written with SQL (at 100000x the CLI's
 * own run time is hours of virtual time); the SIGKILL test enrolls with
 * `homing enroll --csv`. Times are checked on messages.created_at, which the engine stamps in the
 * service clock. At N times real time, every millisecond the loop is late
 * (the timer's grain, an fsync on a busy disk) is N virtual milliseconds:
 * "on time" is within 5 minutes at 7200x (42 ms of real time, room for a
 * loaded machine; a wrong DST rule would be an hour off) and within 3 hours
 * at 100000x, where the rules checked (7 days after the previous step, 31
 * after the enrollment, the cap's 7 days) would be off by days.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/testutil.h"

static char dir[512], conf_path[700], log_path[700], sim_log[700], sub_log[700], ctl_path[700];
static char db_path[700];
static pid_t sim_pid, homing_pid;

static const char campaigns[] =
    "quiet_hours = { start = \"21:00\"; end = \"08:00\"; };\n"
    "campaigns = (\n"
    "  { name = \"seq\"; consent_required = true;\n"
    "    steps = ( { after = \"0d\"; text = \"Hi {name}, step one\"; },\n"
    "              { after = \"7d\"; text = \"Hi {name}, step two\"; },\n"
    "              { after = \"31d\"; from = \"enrollment\"; text = \"Hi {name}, step three\"; } ); },\n"
    "  { name = \"news\"; steps = ( { after = \"0d\"; text = \"News for {name}\"; } ); },\n"
    "  { name = \"promo\"; frequency_cap = { messages = 1; per = \"7d\"; };\n"
    "    steps = ( { after = \"0d\"; text = \"Promo for {name}\"; } ); },\n"
    "  { name = \"night\"; steps = ( { after = \"0d\"; text = \"Good morning {name}\"; } ); },\n"
    "  { name = \"short\"; exit_on = [ \"conversion\", \"reply\" ];\n"
    "    steps = ( { after = \"0d\"; text = \"S1 {name}\"; }, { after = \"2h\"; text = \"S2 {name}\"; },\n"
    "              { after = \"2h\"; text = \"S3 {name}\"; } ); },\n"
    "  { name = \"hourly\"; quiet_hours = { start = \"00:00\"; end = \"00:00\"; };\n"
    "    steps = ( { after = \"0d\"; text = \"H1 {name}\"; }, { after = \"1h\"; text = \"H2 {name}\"; } ); },\n"
    "  { name = \"fast\"; quiet_hours = { start = \"00:00\"; end = \"00:00\"; };\n"
    "    frequency_cap = { messages = 100; per = \"1h\"; };\n"
    "    steps = ( { after = \"0d\"; text = \"F1 {name}\"; }, { after = \"1d\"; text = \"F2 {name}\"; },\n"
    "              { after = \"1d\"; text = \"F3 {name}\"; } ); }\n"
    ");\n";

static void paths(void)
{
    harness_paths(&(struct harness_paths){ .dir = dir, .conf = conf_path, .log = log_path,
                                            .db = db_path, .ctl = ctl_path, .sim_out = sim_log,
                                            .sub_log = sub_log });
}

static void write_conf(bool modem)
{
    char text[8192], modems[1024] = "";
    if (modem)
        snprintf(modems, sizeof modems,
                 "modems = ( { name = \"m1\"; port = \"%s/m1\"; sends_per_minute = 6000;\n"
                 "    send_timeout = \"3s\"; poll = \"1s\"; } );\n", dir);
    snprintf(text, sizeof text,
             "database = \"%s\";\nhttp = { listen = \"127.0.0.1:0\"; };\n"
             "defaults = { country = \"IE\"; timezone = \"Europe/Dublin\"; validity = \"30d\"; };\n"
             "%s%s", db_path, modems, campaigns);
    testutil_write_file(dir, "homing.conf", text);
}

/* Runs `homing A1 A2 [A3] -c conf` to completion and expects exit 0. */
static void homing_cli(const char *a1, const char *a2, const char *a3)
{
    const char *argv[] = { testutil_program("homing"), a1, a2, a3 ? a3 : "-c",
                           a3 ? "-c" : conf_path, a3 ? conf_path : NULL, NULL };
    char *out = NULL, *err = NULL;
    int rc = testutil_exec(argv, NULL, 60000, &out, &err);
    ck_assert_msg(rc == 0, "homing %s %s %s: exit %d: %s", a1, a2, a3, rc, err);
    free(out);
    free(err);
}

/* `homing contacts import` of a CSV (header phone,name,timezone,consent). */
static void import_contacts(const char *csv)
{
    char path[700];
    snprintf(path, sizeof path, "%s", testutil_write_file(dir, "contacts.csv", csv));
    homing_cli("contacts", "import", path);
}

static void start_sim(void)
{
    sim_pid = harness_start_modem_sim(dir, 1, ctl_path, sub_log, sim_log, NULL);
}

/* One modem-sim control command; returns its answer (static). */
static const char *ctl(const char *cmd)
{
    return harness_ctl(ctl_path, cmd);
}

static void start_homing(const char *scale, const char *start_at)
{
    const char *argv[] = { testutil_program("homing"), "run", "-c", conf_path, "--time-scale",
                           scale, "--start-at", start_at, NULL };
    homing_pid = testutil_spawn(argv, log_path);
    ck_assert_msg(testutil_wait_for_text(log_path, " ready", 15000), "homing not ready");
}

static void stop_all(void)
{
    harness_stop(&homing_pid, 15000);
    harness_stop(&sim_pid, 5000);
}

static void sql(const char *text)
{
    harness_sql(db_path, text);
}

/* The integer `fmt` (with %s for `arg`) selects; -1 when no row or NULL. */
static long long query(const char *fmt, const char *arg)
{
    char q[1024];
    snprintf(q, sizeof q, fmt, arg);
    return harness_query_int(db_path, q);
}

static bool wait_for_count(const char *fmt, const char *arg, long long want, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        if (query(fmt, arg) >= want)
            return true;
        usleep(100 * 1000);
    }
    return false;
}

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                     .tm_min = mi };
    return (int64_t)timegm(&tm);
}

static void enroll(const char *phone, const char *campaign, int64_t due)
{
    char q[512];
    snprintf(q, sizeof q, "INSERT INTO enrollments (recipient, campaign, next_due_at, created_at, "
             "updated_at) VALUES ('%s', '%s', %lld, %lld, %lld)", phone, campaign,
             (long long)due, (long long)due, (long long)due);
    sql(q);
}

/*
 * A campaign message queued before an outage and still waiting when the
 * service starts at night (its enrollment already advanced past it).
 */
static void backlog(const char *phone, const char *body, int64_t at)
{
    char q[1024];
    snprintf(q, sizeof q,
             "INSERT INTO enrollments (recipient, campaign, current_step, state, created_at, "
             "updated_at, ended_at) VALUES ('%s', 'night', 1, 'completed', %lld, %lld, %lld);"
             "INSERT INTO messages (recipient, body, encoding, segments, next_attempt_at, "
             "expires_at, source, campaign, step, enrollment_id, created_at, updated_at) "
             "VALUES ('%s', '%s', 'gsm7', 1, %lld, %lld, 'campaign', 'night', 0, "
             "last_insert_rowid(), %lld, %lld)", phone, (long long)at, (long long)at,
             (long long)at, phone, body, (long long)at, (long long)(at + 7 * 86400),
             (long long)at, (long long)at);
    sql(q);
}

/*
 * Step 2 of an active "short" enrollment, queued at `at` and claimed at night,
 * so it waits at dispatch for the morning.
 */
static void held_step(const char *phone, const char *body, int64_t at)
{
    char q[1024];
    snprintf(q, sizeof q,
             "INSERT INTO enrollments (recipient, campaign, current_step, state, next_due_at, "
             "created_at, updated_at, last_sent_at) VALUES ('%s', 'short', 2, 'active', %lld, "
             "%lld, %lld, %lld);"
             "INSERT INTO messages (recipient, body, encoding, segments, next_attempt_at, "
             "expires_at, source, campaign, step, enrollment_id, created_at, updated_at) "
             "VALUES ('%s', '%s', 'gsm7', 1, %lld, %lld, 'campaign', 'short', 1, "
             "last_insert_rowid(), %lld, %lld)", phone, (long long)(at + 30 * 86400),
             (long long)at, (long long)at, (long long)at, phone, body, (long long)at,
             (long long)(at + 7 * 86400), (long long)at, (long long)at);
    sql(q);
}

/* created_at of the message with this text. */
static int64_t created(const char *body)
{
    return query("SELECT created_at FROM messages WHERE body = '%s'", body);
}

/* How many times the modem-sim received `text` for `to`. */
static int received(const char *to, const char *text)
{
    char *log = testutil_read_file(sub_log);
    int n = 0;
    for (char *line = log ? strtok(log, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        json_t *j = json_loads(line, 0, NULL);
        const char *jt = json_string_value(json_object_get(j, "to"));
        const char *jx = json_string_value(json_object_get(j, "text"));
        /* The modem may see the number in national or international form. */
        if (jt && jx && strcmp(jx, text) == 0 && strstr(to, jt[0] == '+' ? jt + 1 : jt))
            n++;
        json_decref(j);
    }
    free(log);
    return n;
}

#define ON_TIME(got, want, slack) \
    ck_assert_msg((got) >= (want) && (got) <= (want) + (slack), \
                  "%s: created at %lld, due %lld (%+lld s)", #got, (long long)(got), \
                  (long long)(want), (long long)((got) - (want)))

/*
 * 7200x from 22:50Z on 2027-03-27, the night Dublin moves to summer time
 * (01:00Z on the 28th): steps due at 23:00 local wait for 08:00 local.
 */
START_TEST(night_steps_wait_for_the_morning_on_the_recipients_clock)
{
    paths();
    write_conf(true);
    /* Aoife: Dublin by her country; Ben: his own zone (+1 has many); Chitra: Kolkata by country. */
    import_contacts("phone,name,timezone,consent\n"
                    "+353871000101,Aoife,,yes\n"
                    "+14155550102,Ben,America/New_York,yes\n"
                    "+919876500103,Chitra,,yes\n"
                    "+353871000104,Eve,,yes\n"
                    "+353871000105,Fay,,yes\n");
    enroll("+353871000101", "night", utc(2027, 3, 27, 23, 0)); /* 23:00 GMT */
    enroll("+14155550102", "night", utc(2027, 3, 28, 3, 0));   /* 23:00 EDT */
    enroll("+919876500103", "night", utc(2027, 3, 27, 23, 0)); /* 04:30 IST */
    backlog("+353871000104", "Backlog for Eve", utc(2027, 3, 27, 20, 0));
    held_step("+353871000105", "Held for Fay", utc(2027, 3, 27, 20, 0));
    start_sim();
    start_homing("7200", "2027-03-27T22:50:00Z");
    /* Fay answers in the night: her held step must not go in the morning. */
    ck_assert(wait_for_count("SELECT count(*) FROM messages WHERE body = '%s' AND last_error "
                             "LIKE 'waiting for the end of quiet hours%%'", "Held for Fay", 1, 5000));
    ctl("sms +353871000105 Not now thanks");
    ck_assert_msg(wait_for_count("SELECT count(*) FROM messages WHERE campaign = '%s'", "night", 4,
                                 12000), "the night steps were not all sent");
    /* 08:00 IST (summer time) is 07:00Z, not 08:00Z; 08:00 EDT is 12:00Z; 08:00 IST (India) 02:30Z. */
    ON_TIME(created("Good morning Aoife"), utc(2027, 3, 28, 7, 0), 300);
    ON_TIME(created("Good morning Ben"), utc(2027, 3, 28, 12, 0), 300);
    ON_TIME(created("Good morning Chitra"), utc(2027, 3, 28, 2, 30), 300);
    /* The three morning steps themselves (Eve's backlog is a 'night' message too). */
    ck_assert(wait_for_count("SELECT count(*) FROM messages WHERE campaign = '%s' AND body LIKE "
                             "'Good morning%%' AND state IN ('sent', 'delivered')", "night", 3,
                             10000));
    ck_assert_int_eq(received("+353871000101", "Good morning Aoife"), 1);
    ck_assert_int_eq(received("+14155550102", "Good morning Ben"), 1);
    ck_assert_int_eq(received("+919876500103", "Good morning Chitra"), 1);
    /* The backlog was claimed at night: it waited for 08:00 IST without counting an attempt. */
    ck_assert(wait_for_count("SELECT count(*) FROM messages WHERE body = '%s' AND sent_at > 0",
                             "Backlog for Eve", 1, 10000));
    int64_t sent = query("SELECT sent_at FROM messages WHERE body = '%s'", "Backlog for Eve");
    ON_TIME(sent, utc(2027, 3, 28, 7, 0), 3 * 3600);
    ck_assert_int_eq(query("SELECT attempts FROM messages WHERE body = '%s'", "Backlog for Eve"), 0);
    ck_assert_int_eq(received("+353871000104", "Backlog for Eve"), 1);
    ck_assert_int_eq(query("SELECT count(*) FROM messages WHERE body = '%s' AND state = "
                           "'suppressed' AND last_error LIKE '%%ended (replied%%'", "Held for Fay"), 1);
    ck_assert_int_eq(received("+353871000105", "Held for Fay"), 0);
    ck_assert_int_eq(query("SELECT count(*) FROM enrollments WHERE state = '%s'", "completed"), 4);
    stop_all();
}
END_TEST

/*
 * 7200x through the night New York's clocks go back (2027-11-07, 02:00 EDT
 * -> 01:00 EST at 06:00Z): 01:30 happens twice, a step is still sent once,
 * an hour's delay is an hour, and the morning is 08:00 EST.
 */
START_TEST(the_night_the_clocks_go_back_repeats_nothing)
{
    paths();
    write_conf(true);
    import_contacts("phone,name,timezone,consent\n"
                    "+12125550111,Fay,America/New_York,yes\n"
                    "+12125550112,Gus,America/New_York,yes\n");
    enroll("+12125550111", "night", utc(2027, 11, 7, 3, 0));   /* 23:00 EDT */
    enroll("+12125550112", "hourly", utc(2027, 11, 7, 5, 30)); /* 01:30 EDT */
    start_sim();
    start_homing("7200", "2027-11-07T02:50:00Z");
    ck_assert_msg(wait_for_count("SELECT count(*) FROM messages WHERE recipient LIKE '%s'",
                                 "+1212555011%", 3, 12000), "not all steps were sent");
    ON_TIME(created("H1 Gus"), utc(2027, 11, 7, 5, 30), 300);
    ON_TIME(created("H2 Gus"), created("H1 Gus") + 3600, 300);  /* 01:30 EST, the second one */
    ON_TIME(created("Good morning Fay"), utc(2027, 11, 7, 13, 0), 300);
    usleep(1000 * 1000); /* two virtual hours more: nothing else may come */
    ck_assert_int_eq(query("SELECT count(*) FROM messages WHERE recipient LIKE '%s'", "+1212555011%"), 3);
    ck_assert(wait_for_count("SELECT count(*) FROM messages WHERE state IN ('sent', 'delivered') "
                             "AND recipient LIKE '%s'", "+1212555011%", 3, 10000));
    ck_assert_int_eq(received("+12125550112", "H1 Gus"), 1);
    ck_assert_int_eq(received("+12125550112", "H2 Gus"), 1);
    ck_assert_int_eq(received("+12125550111", "Good morning Fay"), 1);
    stop_all();
}
END_TEST

/*
 * 3600x: three enrollments in a 3-step sequence two hours apart. After step 1
 * one converts (`homing convert`) and one texts STOP through the modem: their
 * steps 2 and 3 never go; the third gets all three.
 */
START_TEST(conversion_and_stop_end_a_sequence_after_step_1)
{
    paths();
    write_conf(true);
    import_contacts("phone,name,consent\n+353871000301,Hana,yes\n+353871000302,Ivan,yes\n"
                    "+353871000303,Jo,yes\n+353871000304,Kim,yes\n");
    int64_t t0 = utc(2027, 1, 6, 9, 10);
    enroll("+353871000301", "short", t0);
    enroll("+353871000302", "short", t0);
    enroll("+353871000303", "short", t0);
    enroll("+353871000304", "short", t0);
    start_sim();
    start_homing("3600", "2027-01-06T09:00:00Z");
    ck_assert_msg(wait_for_count("SELECT count(*) FROM messages WHERE step = 0 AND campaign = '%s'",
                                 "short", 4, 10000), "step 1 was not sent");
    homing_cli("convert", "+353871000301", NULL);
    ctl("sms +353871000302 STOP");
    ctl("sms +353871000304 Thanks, see you at the weekend");
    ck_assert_msg(wait_for_count("SELECT count(*) FROM enrollments WHERE state = '%s'", "completed",
                                 1, 15000), "Jo's sequence did not complete");
    usleep(1500 * 1000); /* 1.5 virtual hours more */
    ck_assert_int_eq(query("SELECT count(*) FROM messages WHERE campaign = 'short' AND recipient = '%s'",
                           "+353871000301"), 1);
    ck_assert_int_eq(query("SELECT count(*) FROM messages WHERE campaign = 'short' AND recipient = '%s'",
                           "+353871000302"), 1);
    ck_assert_int_eq(query("SELECT count(*) FROM messages WHERE campaign = 'short' AND recipient = '%s'",
                           "+353871000303"), 3);
    ck_assert_int_eq(query("SELECT count(*) FROM enrollments WHERE state = 'converted' AND "
                           "recipient = '%s'", "+353871000301"), 1);
    ck_assert_int_eq(query("SELECT count(*) FROM enrollments WHERE state = 'opted_out' AND "
                           "recipient = '%s'", "+353871000302"), 1);
    ck_assert_int_eq(query("SELECT count(*) FROM messages WHERE campaign = 'short' AND recipient = '%s'",
                           "+353871000304"), 1);
    ck_assert_int_eq(query("SELECT count(*) FROM enrollments WHERE state = 'replied' AND "
                           "recipient = '%s'", "+353871000304"), 1);
    ck_assert(wait_for_count("SELECT count(*) FROM messages WHERE campaign = '%s' AND state IN "
                             "('sent', 'delivered')", "short", 5, 10000));
    ck_assert_int_eq(received("+353871000303", "S3 Jo"), 1);
    ck_assert_int_eq(received("+353871000301", "S2 Hana"), 0);
    ck_assert_int_eq(received("+353871000302", "S2 Ivan"), 0);
    ck_assert_int_eq(received("+353871000304", "S2 Kim"), 0);
    stop_all();
}
END_TEST

/*
 * 100000x over 32 days from 2027-01-04 (winter: Dublin is on UTC): the
 * sequence's three steps at day 0, 7 and 31, and a second campaign capped.
 */
START_TEST(a_31_day_sequence_is_on_time_and_the_cap_defers)
{
    paths();
    write_conf(true);
    int64_t t0 = utc(2027, 1, 5, 10, 0), day = 86400;
    import_contacts("phone,name,consent\n+353871000201,Cara,yes\n+353871000202,Dara,yes\n");
    enroll("+353871000201", "seq", t0);
    enroll("+353871000202", "news", t0 + 2 * 3600);
    enroll("+353871000202", "promo", t0 + day + 2 * 3600);
    start_sim();
    start_homing("100000", "2027-01-04T00:00:00Z");
    ck_assert_msg(wait_for_count("SELECT count(*) FROM messages WHERE campaign = '%s'", "seq", 3,
                                 45000), "the sequence did not finish");
    /* 1 ms of real time is 100 virtual seconds here. */
    ON_TIME(created("Hi Cara, step one"), t0, 3 * 3600);
    ON_TIME(created("Hi Cara, step two"), created("Hi Cara, step one") + 7 * day, 3 * 3600);
    ON_TIME(created("Hi Cara, step three"), t0 + 31 * day, 3 * 3600);
    ON_TIME(created("News for Dara"), t0 + 2 * 3600, 3 * 3600);
    /* Promo was due a day after the news, but 1 per 7 days: it waits for the news to age out. */
    ON_TIME(created("Promo for Dara"), created("News for Dara") + 7 * day, 3 * 3600);
    ck_assert(wait_for_count("SELECT count(*) FROM messages WHERE state IN ('sent', 'delivered') "
                             "AND recipient LIKE '%s'", "+35387100020%", 5, 10000));
    ck_assert_int_eq(received("+353871000201", "Hi Cara, step one"), 1);
    ck_assert_int_eq(received("+353871000201", "Hi Cara, step two"), 1);
    ck_assert_int_eq(received("+353871000201", "Hi Cara, step three"), 1);
    ck_assert_int_eq(received("+353871000202", "News for Dara"), 1);
    ck_assert_int_eq(received("+353871000202", "Promo for Dara"), 1);
    ck_assert_int_eq(query("SELECT count(*) FROM enrollments WHERE state = '%s'", "completed"), 3);
    stop_all();
}
END_TEST

/* The service clock as published, extrapolated to now: where a restart picks up. */
static void service_now(char *iso, size_t size)
{
    long long vms = query("SELECT virtual_ms FROM service_clock WHERE id = %s", "1");
    long long wms = query("SELECT wall_ms FROM service_clock WHERE id = %s", "1");
    ck_assert_int_gt(vms, 0);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    long long wall = (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    time_t t = (time_t)((vms + (wall - wms) * 100000) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(iso, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* `homing contacts import` and `homing enroll fast --csv` of n numbers: all due now. */
static void import_and_enroll(int n)
{
    size_t size = (size_t)n * 40 + 64;
    char *contacts = malloc(size), *numbers = malloc(size);
    ck_assert(contacts && numbers);
    size_t c = (size_t)snprintf(contacts, size, "phone,name,consent\n");
    size_t m = (size_t)snprintf(numbers, size, "phone\n");
    for (int i = 0; i < n; i++) {
        c += (size_t)snprintf(contacts + c, size - c, "+35387%07d,K%d,yes\n", 5000000 + i, i);
        m += (size_t)snprintf(numbers + m, size - m, "+35387%07d\n", 5000000 + i);
    }
    import_contacts(contacts);
    char path[700];
    snprintf(path, sizeof path, "%s", testutil_write_file(dir, "enroll.csv", numbers));
    const char *argv[] = { testutil_program("homing"), "enroll", "fast", "--csv", path, "-c",
                           conf_path, NULL };
    char *out = NULL, *err = NULL;
    int rc = testutil_exec(argv, NULL, 60000, &out, &err);
    ck_assert_msg(rc == 0, "homing enroll: exit %d: %s", rc, err);
    free(out);
    free(err);
    free(contacts);
    free(numbers);
    ck_assert_int_eq(query("SELECT count(*) FROM enrollments WHERE state = '%s'", "active"), n);
}

static void iso_now(char *iso, size_t size)
{
    time_t t = time(NULL) + 1;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(iso, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * 3,000 enrollments of 3 steps a day apart, made with `homing contacts
 * import` and `homing enroll --csv` (all due at once: ticks of 2,000 rows in
 * one transaction), and SIGKILL at uneven moments while the engine works
 * through them; each restart resumes the service clock. At the end every
 * enrollment has exactly its three messages, one per step.
 */
START_TEST(sigkill_during_ticks_never_duplicates_or_skips_a_step)
{
    paths();
    write_conf(false);
    import_and_enroll(3000);
    char at[40];
    iso_now(at, sizeof at); /* the CLI stamped the enrollments on the wall clock */
    int kills = 0;
    for (int round = 0; round < 12; round++) {
        snprintf(log_path, sizeof log_path, "%s/homing-%d.log", dir, round);
        start_homing("100000", at);
        long long before = query("SELECT count(*) FROM messages WHERE campaign = '%s'", "fast");
        usleep((useconds_t)(60 + 47 * (round % 5)) * 1000);
        kill(homing_pid, SIGKILL);
        testutil_wait_exit(homing_pid, 5000);
        homing_pid = 0;
        kills++;
        service_now(at, sizeof at);
        long long after = query("SELECT count(*) FROM messages WHERE campaign = '%s'", "fast");
        if (round >= 3 && before == 9000 && after == 9000)
            break;
    }
    ck_assert_int_ge(kills, 4);
    snprintf(log_path, sizeof log_path, "%s/homing-last.log", dir);
    start_homing("100000", at);
    ck_assert_msg(wait_for_count("SELECT count(*) FROM enrollments WHERE state = '%s'", "completed",
                                 3000, 20000), "not every enrollment completed");
    stop_all();
    /* No step twice, none skipped: three distinct steps per enrollment, and nothing else. */
    ck_assert_int_eq(query("SELECT count(*) FROM messages WHERE campaign = '%s'", "fast"), 9000);
    ck_assert_int_eq(query("SELECT count(*) FROM (SELECT enrollment_id FROM messages WHERE "
                           "campaign = '%s' GROUP BY enrollment_id HAVING count(DISTINCT step) = 3 "
                           "AND min(step) = 0 AND max(step) = 2 AND count(*) = 3)", "fast"), 3000);
    ck_assert_int_eq(query("SELECT count(*) FROM enrollments WHERE current_step = %s", "3"), 3000);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("scheduler");
    TCase *t = tcase_create("virtual time");
    tcase_set_timeout(t, 90);
    tcase_add_test(t, night_steps_wait_for_the_morning_on_the_recipients_clock);
    tcase_add_test(t, the_night_the_clocks_go_back_repeats_nothing);
    tcase_add_test(t, conversion_and_stop_end_a_sequence_after_step_1);
    tcase_add_test(t, a_31_day_sequence_is_on_time_and_the_cap_defers);
    tcase_add_test(t, sigkill_during_ticks_never_duplicates_or_skips_a_step);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
