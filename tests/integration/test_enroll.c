/*
 * Contacts, enrollment, conversions and preview through the real binary:
 * `homing contacts import` with bad rows named by line, `homing enroll` with
 * a refusal for each reason, `homing convert`, `homing campaign preview`,
 * POST /v1/enrollments and /v1/conversions against `homing run`, and CLI
 * times on the service clock under --time-scale.
 */
#include <jansson.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/testutil.h"

#define TOKEN "enroll-token"

static char dir[512], conf_path[700], log_path[700];
static int port;

static void setup(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    snprintf(dir, sizeof dir, "%s", testutil_tmpdir());
    snprintf(conf_path, sizeof conf_path, "%s/homing.conf", dir);
    snprintf(log_path, sizeof log_path, "%s/homing.log", dir);
    char text[2048];
    snprintf(text, sizeof text,
             "database = \"%s/homing.db\";\n"
             "http = { listen = \"127.0.0.1:0\"; token = \"" TOKEN "\"; };\n"
             "campaigns = (\n"
             "  { name = \"winback\"; exit_on = [\"conversion\", \"reply\"]; reenroll_after = \"90d\";\n"
             "    steps = ( { after = \"1h\"; text = \"Hi {name|there}, use {code} today\"; },\n"
             "              { after = \"7d\"; variants = (\n"
             "                  { name = \"A\"; text = \"{name|Hi}, 20%% off until Sunday\"; },\n"
             "                  { name = \"B\"; text = \"Grüße {name}, see you in {city|town}\"; } ); } ); },\n"
             "  { name = \"open\"; consent_required = false; exit_on = [\"conversion\"];\n"
             "    steps = ( { after = \"2h\"; text = \"Hello {name|there}\"; } ); }\n"
             ");\n", dir);
    testutil_write_file(dir, "homing.conf", text);
}

/* Runs `homing ARGS... -c conf`; returns the exit status with stdout and stderr. */
static int homing(char **out, char **err, const char *a1, const char *a2, const char *a3,
                  const char *a4, const char *a5)
{
    const char *argv[12] = { testutil_program("homing") };
    int n = 1;
    const char *args[] = { a1, a2, a3, a4, a5 };
    for (int i = 0; i < 5 && args[i]; i++)
        argv[n++] = args[i];
    argv[n++] = "-c";
    argv[n++] = conf_path;
    argv[n] = NULL;
    return testutil_exec(argv, NULL, 30000, out, err);
}

#define CONTAINS(hay, needle) \
    ck_assert_msg(strstr(hay, needle) != NULL, "'%s' not in:\n%s", needle, hay)

static const char *csv_path(const char *name, const char *text)
{
    static char path[700];
    snprintf(path, sizeof path, "%s", testutil_write_file(dir, name, text));
    return path;
}

static void import_contacts(void)
{
    char *out, *err;
    const char *path = csv_path("contacts.csv",
                                "\xEF\xBB\xBFphone,name,timezone,consent,code,city\r\n"
                                "087 000 0001,Zoë,Europe/Dublin,yes,SAVE10,Cork\r\n"
                                "+353870000002,Al,,no,X,\r\n"
                                "+353870000003,Bo,Mars/Olympus,yes,X,\r\n"
                                "+353870000004,Cy,,yes,,\r\n"
                                "12ab,Di,,yes,,\r\n"
                                "+353870000006,\"Ed \"\"the\"\"\nSecond\",,2024-05-01,E1,\r\n"
                                "+353870000007,Fi,,yes\r\n");
    ck_assert_int_eq(homing(&out, &err, "contacts", "import", path, NULL, NULL), 1);
    CONTAINS(out, "imported 4 contacts, 3 rows skipped");
    char want[800];
    snprintf(want, sizeof want, "%s:4: timezone 'Mars/Olympus' is not an IANA time zone", path);
    CONTAINS(err, want);
    snprintf(want, sizeof want, "%s:6: phone: '12ab' is not a phone number", path);
    CONTAINS(err, want);
    snprintf(want, sizeof want, "%s:9: has 4 fields, the header has 6", path);
    CONTAINS(err, want);
    free(out);
    free(err);
}

START_TEST(contacts_import_reports_bad_rows_by_line)
{
    char *out, *err;
    import_contacts();
    ck_assert_int_eq(homing(&out, &err, "contacts", "list", "--json", NULL, NULL), 0);
    json_t *list = json_loads(out, 0, NULL);
    ck_assert_int_eq(json_array_size(list), 4);
    json_t *zoe = json_array_get(list, 0);
    ck_assert_str_eq(json_string_value(json_object_get(zoe, "msisdn")), "+353870000001");
    ck_assert_str_eq(json_string_value(json_object_get(zoe, "name")), "Zoë");
    ck_assert_str_eq(json_string_value(json_object_get(zoe, "consent")), "yes");
    json_t *attrs = json_object_get(zoe, "attributes");
    ck_assert_str_eq(json_string_value(json_object_get(attrs, "code")), "SAVE10");
    json_t *ed = json_array_get(list, 3);
    ck_assert_str_eq(json_string_value(json_object_get(ed, "name")), "Ed \"the\"\nSecond");
    ck_assert_str_eq(json_string_value(json_object_get(ed, "consent_at")),
                     "2024-05-01T00:00:00+00:00");
    json_decref(list);
    free(out);
    free(err);

    /* A file without a phone column is refused whole. */
    const char *bad = csv_path("bad.csv", "name,consent\nZoe,yes\n");
    ck_assert_int_eq(homing(&out, &err, "contacts", "import", bad, NULL, NULL), 1);
    CONTAINS(err, "bad.csv:1: the header has no phone column");
    free(out);
    free(err);
    ck_assert_int_eq(homing(&out, &err, "contacts", NULL, NULL, NULL, NULL), 2);
    free(out);
    free(err);
}
END_TEST

START_TEST(enroll_refuses_with_reasons)
{
    char *out, *err;
    import_contacts();
    ck_assert_int_eq(homing(&out, &err, "optout", "add", "+353870000006", NULL, NULL), 0);
    free(out);
    free(err);
    const char *argv[] = { testutil_program("homing"), "enroll", "winback", "0870000001",
                           "+353879999999", "+353870000002", "+353870000006", "+353870000004",
                           "1x", "-c", conf_path, NULL };
    ck_assert_int_eq(testutil_exec(argv, NULL, 30000, &out, &err), 1);
    CONTAINS(out, "+353870000001: enrolled 1, first step due");
    CONTAINS(out, "+353879999999: refused: +353879999999 is not a contact: campaign winback "
             "needs recorded consent");
    CONTAINS(out, "+353870000002: refused: +353870000002 has not consented (consent: no)");
    CONTAINS(out, "+353870000006: refused: +353870000006 opted out on ");
    CONTAINS(out, "(MANUAL)");
    CONTAINS(out, "+353870000004: refused: step 1 of 2: the template needs {code} and the "
             "contact has no 'code'");
    CONTAINS(out, "1x: refused: '1x' is not a phone number");
    free(out);
    free(err);

    ck_assert_int_eq(homing(&out, &err, "enroll", "winback", "+353870000001", NULL, NULL), 1);
    CONTAINS(out, "refused: +353870000001 is already enrolled in winback (enrollment 1, since ");
    free(out);
    free(err);

    /* A CSV's other columns are vars: they fill what the contact lacks. */
    const char *path = csv_path("enroll.csv", "msisdn,code\n+353870000004,V4\n+353870000002,\n");
    ck_assert_int_eq(homing(&out, &err, "enroll", "winback", "--csv", path, "--json"), 1);
    json_t *list = json_loads(out, 0, NULL);
    ck_assert_int_eq(json_array_size(list), 2);
    json_t *first = json_array_get(list, 0), *second = json_array_get(list, 1);
    ck_assert(json_is_true(json_object_get(first, "enrolled")));
    ck_assert_int_eq(json_integer_value(json_object_get(first, "line")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(first, "id")), 2);
    ck_assert(json_is_false(json_object_get(second, "enrolled")));
    CONTAINS(json_string_value(json_object_get(second, "reason")), "has not consented");
    json_decref(list);
    free(out);
    free(err);

    /* Converting ends it, and reenroll_after keeps it from starting again at once. */
    ck_assert_int_eq(homing(&out, &err, "convert", "087 000 0001", "--value", "19.99", NULL), 0);
    CONTAINS(out, "conversion 1 recorded for +353870000001; not credited");
    CONTAINS(out, "ended enrollment 1 in winback");
    free(out);
    free(err);
    ck_assert_int_eq(homing(&out, &err, "enroll", "winback", "+353870000001", NULL, NULL), 1);
    CONTAINS(out, "refused: +353870000001 left winback on ");
    CONTAINS(out, "it may be enrolled again from ");
    free(out);
    free(err);
    ck_assert_int_eq(homing(&out, &err, "enroll", "nope", "+353870000001", NULL, NULL), 2);
    CONTAINS(err, "no campaign is named 'nope'");
    free(out);
    free(err);
}
END_TEST

START_TEST(preview_shows_each_step_and_variant)
{
    char *out, *err;
    import_contacts();
    ck_assert_int_eq(homing(&out, &err, "campaign", "preview", "winback", "0870000001", NULL), 0);
    CONTAINS(out, "campaign winback for +353870000001\n");
    CONTAINS(out, "step 1: after 1h from enrollment");
    CONTAINS(out, "    Hi Zoë, use SAVE10 today\n    ucs2, 1 segment\n");
    CONTAINS(out, "step 2: after 7d from the previous step");
    CONTAINS(out, "  variant A:\n    Zoë, 20% off until Sunday\n");
    CONTAINS(out, "  variant B:\n    Grüße Zoë, see you in Cork\n    ucs2, 1 segment\n");
    free(out);
    free(err);
    /* Cy has no code: step 1 cannot be rendered; variant A falls back to Hi. */
    ck_assert_int_eq(homing(&out, &err, "campaign", "preview", "winback", "+353870000004",
                            "--json"), 0);
    json_t *p = json_loads(out, 0, NULL);
    json_t *steps = json_object_get(p, "steps");
    json_t *t0 = json_array_get(json_object_get(json_array_get(steps, 0), "texts"), 0);
    CONTAINS(json_string_value(json_object_get(t0, "error")), "the template needs {code}");
    json_t *t1 = json_array_get(json_object_get(json_array_get(steps, 1), "texts"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(t1, "text")), "Cy, 20% off until Sunday");
    ck_assert_str_eq(json_string_value(json_object_get(t1, "encoding")), "gsm7");
    ck_assert_int_eq(json_integer_value(json_object_get(t1, "segments")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(steps, 1), "after")),
                     7 * 86400);
    json_decref(p);
    free(out);
    free(err);
}
END_TEST

/* --- against the service ------------------------------------------------------ */

static pid_t start_homing(const char *scale, const char *start_at)
{
    const char *argv[] = { testutil_program("homing"), "run", "-c", conf_path,
                           scale ? "--time-scale" : NULL, scale, "--start-at", start_at, NULL };
    pid_t pid = testutil_spawn(argv, log_path);
    ck_assert(testutil_wait_for_text(log_path, "ready", 15000));
    port = harness_http_port(log_path);
    return pid;
}

static void stop_homing(pid_t pid)
{
    ck_assert_int_eq(harness_stop(&pid, 20000), 0);
}

/* POSTs JSON; returns the status, the parsed body in *body. */
static int post(const char *path, const char *token, const char *payload, json_t **body)
{
    char *text;
    int status = harness_http(port, "POST", path, token, "application/json", payload, &text);
    *body = json_loads(text, 0, NULL);
    ck_assert_msg(*body != NULL, "not JSON: %d %s", status, text);
    free(text);
    return status;
}

static void expect_post(const char *path, const char *payload, int status, const char *needle)
{
    json_t *body;
    int got = post(path, TOKEN, payload, &body);
    char *text = json_dumps(body, JSON_COMPACT);
    ck_assert_msg(got == status, "POST %s %s -> %d %s", path, payload, got, text);
    ck_assert_msg(strstr(text, needle), "'%s' not in %s", needle, text);
    free(text);
    json_decref(body);
}

START_TEST(http_enrollments_and_conversions)
{
    import_contacts();
    pid_t pid = start_homing(NULL, NULL);
    expect_post("/v1/enrollments", "{\"campaign\": \"winback\", \"msisdn\": \"087 000 0001\"}",
                201, "\"campaign\":\"winback\",\"msisdn\":\"+353870000001\",\"next_due_at\":");
    expect_post("/v1/enrollments", "{\"campaign\": \"open\", \"msisdn\": \"+353870000001\"}",
                201, "\"id\":2");
    expect_post("/v1/enrollments", "{\"campaign\": \"winback\", \"msisdn\": \"+353870000001\"}",
                422, "\"refusal\":\"already_enrolled\"");
    expect_post("/v1/enrollments", "{\"campaign\": \"winback\", \"msisdn\": \"+353870000002\"}",
                422, "has not consented");
    expect_post("/v1/enrollments", "{\"campaign\": \"winback\", \"msisdn\": \"+353870000004\"}",
                422, "\"refusal\":\"missing_field\"");
    expect_post("/v1/enrollments", "{\"campaign\": \"winback\", \"msisdn\": \"+353870000004\", "
                "\"vars\": {\"code\": \"H4\"}}", 201, "\"id\":3");
    expect_post("/v1/enrollments", "{\"campaign\": \"nope\", \"msisdn\": \"+353870000001\"}",
                404, "no campaign is named 'nope'");
    expect_post("/v1/enrollments", "{\"msisdn\": \"+353870000001\"}", 400, "campaign: required");
    expect_post("/v1/enrollments", "{\"campaign\": \"open\", \"msisdn\": \"12ab\"}", 400,
                "msisdn: '12ab' is not a phone number");
    expect_post("/v1/enrollments", "{\"campaign\": \"open\", \"msisdn\": \"+353870000009\", "
                "\"vars\": {\"a\": [1]}}", 400, "vars.a must be a string or a number");
    expect_post("/v1/enrollments", "[1]", 400, "the body must be a JSON object");
    json_t *body;
    ck_assert_int_eq(post("/v1/enrollments", "wrong", "{}", &body), 401);
    json_decref(body);

    expect_post("/v1/conversions", "{\"msisdn\": \"+353870000001\", \"value\": 25}", 201,
                "\"value\":25.0,\"credited\":null,\"ended\":[{\"id\":1,\"campaign\":\"winback\"},"
                "{\"id\":2,\"campaign\":\"open\"}]");
    expect_post("/v1/conversions", "{\"msisdn\": \"+353870000001\"}", 201,
                "\"value\":null,\"credited\":null,\"ended\":[]");
    expect_post("/v1/conversions", "{\"msisdn\": \"+353870000004\", \"value\": \"lots\"}", 400,
                "value: must be a number");
    expect_post("/v1/conversions", "{}", 400, "msisdn: required");
    stop_homing(pid);

    char *out, *err;   /* what the API wrote, as the CLI sees it */
    ck_assert_int_eq(homing(&out, &err, "enroll", "open", "+353870000001", NULL, NULL), 1);
    CONTAINS(out, "left open on");
    free(out);
    free(err);
}
END_TEST

/*
 * The service ticks every 30 s here, so only the wake-up an HTTP enrollment
 * gives the engine gets its first step (2 h of service time = 2 s at 3600x)
 * queued within seconds.
 */
START_TEST(an_http_enrollment_wakes_the_engine_for_its_first_step)
{
    import_contacts();
    char *conf = testutil_read_file(conf_path);
    char slow[4096];
    snprintf(slow, sizeof slow, "%sservice = { tick = \"30s\"; };\n", conf);
    free(conf);
    testutil_write_file(dir, "homing.conf", slow);
    pid_t pid = start_homing("3600", "2026-06-01T10:00:00Z");
    expect_post("/v1/enrollments", "{\"campaign\": \"open\", \"msisdn\": \"+353870000001\"}",
                201, "\"next_due_at\":\"2026-06-01T12:0");
    char *out = NULL, *err = NULL;
    bool queued = false;
    for (int i = 0; i < 80 && !queued; i++) {
        usleep(100 * 1000);
        free(out);
        free(err);
        homing(&out, &err, "messages", NULL, NULL, NULL, NULL);
        queued = strstr(out, "+353870000001") != NULL;
    }
    ck_assert_msg(queued, "no campaign message within 8 s:\n%s", out);
    free(out);
    free(err);
    stop_homing(pid);
}
END_TEST

START_TEST(cli_times_follow_the_service_clock)
{
    pid_t pid = start_homing("2", "2030-01-01T00:00:00Z");
    import_contacts();
    char *out, *err;
    ck_assert_int_eq(homing(&out, &err, "contacts", "list", "--json", NULL, NULL), 0);
    json_t *list = json_loads(out, 0, NULL);
    const char *at = json_string_value(json_object_get(json_array_get(list, 0), "consent_at"));
    ck_assert_msg(at && strncmp(at, "2030-01-01T00:0", 15) == 0, "consent_at %s", at);
    json_decref(list);
    free(out);
    free(err);
    ck_assert_int_eq(homing(&out, &err, "enroll", "winback", "+353870000001", NULL, NULL), 0);
    CONTAINS(out, "first step due 2030-01-01T01:0");   /* after = 1h on the service clock */
    free(out);
    free(err);
    stop_homing(pid);
}
END_TEST

START_TEST(concurrent_enrollments_get_one_answer_each)
{
    /* Six processes enroll the same stranger at once: one wins, the others are told it
       is already enrolled; none sees a database error. */
    enum { N = 6 };
    pid_t pids[N];
    char logs[N][760], *out, *err;
    /* The database exists first: migrating a new file is not what is raced here. */
    ck_assert_int_eq(homing(&out, &err, "contacts", "list", NULL, NULL, NULL), 0);
    free(out);
    free(err);
    for (int i = 0; i < N; i++) {
        snprintf(logs[i], sizeof logs[i], "%s/enroll%d.log", dir, i);
        const char *argv[] = { testutil_program("homing"), "enroll", "open", "+353879990000",
                               "-c", conf_path, NULL };
        pids[i] = testutil_spawn(argv, logs[i]);
    }
    int enrolled = 0, already = 0;
    for (int i = 0; i < N; i++) {
        int status = testutil_wait_exit(pids[i], 30000);
        char *log = testutil_read_file(logs[i]);
        ck_assert_ptr_nonnull(log);
        if (status == 0 && strstr(log, "+353879990000: enrolled 1, first step due"))
            enrolled++;
        else if (status == 1 && strstr(log, "refused: +353879990000 is already enrolled in open "
                                       "(enrollment 1, since "))
            already++;
        else
            ck_abort_msg("process %d exited %d: %s", i, status, log);
        free(log);
    }
    ck_assert_int_eq(enrolled, 1);
    ck_assert_int_eq(already, N - 1);
}
END_TEST

START_TEST(progress_bar_on_a_terminal_only)
{
    char path[760];
    snprintf(path, sizeof path, "%s/big.csv", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "phone,name,timezone,consent,consent_at,code\n");
    for (int i = 0; i < 30000; i++)   /* about 2 MB: a bar is drawn above 1 MB */
        fprintf(f, "+3538700%05d,Name number %d,Europe/Dublin,yes,2024-01-02,CODE%d\n", i, i, i);
    fclose(f);

    int master;
    pid_t pid = forkpty(&master, NULL, NULL, NULL);
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execl(testutil_program("homing"), "homing", "contacts", "import", path, "-c", conf_path,
              (char *)NULL);
        _exit(127);
    }
    static char screen[1 << 16];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof screen - 1 && (r = read(master, screen + got, sizeof screen - 1 - got)) > 0)
        got += (size_t)r;   /* EIO once the child has gone */
    screen[got] = '\0';
    close(master);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CONTAINS(screen, "importing [");
    CONTAINS(screen, "100%  30000 rows");
    CONTAINS(screen, "imported 30000 contacts, 0 rows skipped");

    char *out, *err;   /* not a terminal: the summary alone */
    ck_assert_int_eq(homing(&out, &err, "contacts", "import", path, NULL, NULL), 0);
    ck_assert_str_eq(out, "imported 30000 contacts, 0 rows skipped\n");
    ck_assert_str_eq(err, "");
    free(out);
    free(err);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("enroll");
    TCase *t = tcase_create("cli");
    tcase_add_checked_fixture(t, setup, NULL);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, contacts_import_reports_bad_rows_by_line);
    tcase_add_test(t, enroll_refuses_with_reasons);
    tcase_add_test(t, preview_shows_each_step_and_variant);
    tcase_add_test(t, http_enrollments_and_conversions);
    tcase_add_test(t, an_http_enrollment_wakes_the_engine_for_its_first_step);
    tcase_add_test(t, cli_times_follow_the_service_clock);
    tcase_add_test(t, concurrent_enrollments_get_one_answer_each);
    tcase_add_test(t, progress_bar_on_a_terminal_only);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
