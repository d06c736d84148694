/*
 * The configuration loader: the sample file, every error class with the line
 * it names, durations, clock times, and agreement between the schema, the
 * sample config and docs/configuration.md.
 */
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"
#include "tests/testutil.h"

/* Loads `text` from a temporary file; returns the conf (or NULL) and fills errs. */
static struct conf *load_text(const char *text, struct conf_errors *errs)
{
    const char *dir = testutil_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s", testutil_write_file(dir, "t.conf", text));
    return conf_load(path, errs);
}

/* True when one error line names `line` and contains `needle`. */
static bool has_error(const struct conf_errors *errs, int line, const char *needle)
{
    char tag[32];
    snprintf(tag, sizeof tag, ".conf:%d: ", line);
    for (size_t i = 0; i < errs->n; i++)
        if (strstr(errs->lines[i], tag) && strstr(errs->lines[i], needle))
            return true;
    return false;
}

static void dump(const struct conf_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        fprintf(stderr, "  %s\n", errs->lines[i]);
}

#define EXPECT_ERROR(errs, line, needle) \
    do { if (!has_error(errs, line, needle)) dump(errs); \
         ck_assert_msg(has_error(errs, line, needle), "no error at line %d with '%s'", line, needle); } while (0)

START_TEST(sample_config_is_valid)
{
    struct conf_errors errs = { 0 };
    struct conf *c = conf_load("config/homing.conf", &errs);
    dump(&errs);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->database, "var/homing.db");
    ck_assert_int_eq(c->defaults.validity, 48 * 3600);
    ck_assert_int_eq(c->quiet_hours.start, 21 * 60);
    ck_assert_int_eq(c->n_campaigns, 1);
    ck_assert_int_eq(c->campaigns[0].n_steps, 3);
    ck_assert_int_eq(c->campaigns[0].steps[1].after, 7 * 86400);
    ck_assert_int_eq(c->n_modems + c->n_smpp, 0);
    conf_free(c);
    conf_errors_free(&errs);
}
END_TEST

START_TEST(defaults_fill_an_empty_file)
{
    struct conf_errors errs = { 0 };
    struct conf *c = load_text("", &errs);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->http.listen, "127.0.0.1:8080");
    ck_assert_str_eq(c->defaults.country, "IE");
    ck_assert_int_eq(c->frequency_cap.per, 30 * 86400);
    ck_assert_int_eq(c->defaults.max_segments, 10);
    conf_free(c);
    struct conf *d = conf_defaults();
    ck_assert_str_eq(d->log.level, "info");
    conf_free(d);
}
END_TEST

START_TEST(modem_defaults_apply_per_element)
{
    struct conf_errors errs = { 0 };
    struct conf *c = load_text("modems = ( { name = \"m1\"; port = \"/dev/ttyUSB0\"; },\n"
                               "  { name = \"m2\"; port = \"usb:12d1:1506\"; baud = 9600; } );\n"
                               "routes = ( { match = \"+353\"; via = [\"m2\", \"m1\"]; } );\n",
                               &errs);
    dump(&errs);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->modems[0].baud, 115200);
    ck_assert_int_eq(c->modems[1].baud, 9600);
    ck_assert(c->modems[0].status_reports);
    ck_assert_int_eq(c->modems[0].prompt_timeout, 5);  /* a silent modem is noticed in seconds */
    ck_assert_int_eq(c->modems[0].send_timeout, 60);   /* the network may take its time */
    ck_assert_str_eq(c->routes[0].strategy, "failover");
    ck_assert_int_eq(c->routes[0].via.n, 2);
    ck_assert_str_eq(c->routes[0].via.items[0], "m2");
    conf_free(c);
}
END_TEST

START_TEST(unknown_key_names_line_and_suggests)
{
    struct conf_errors errs = { 0 };
    struct conf *c = load_text("# comment\ndatabse = \"x.db\";\nhttp = { lisen = \"a:1\"; };\n",
                               &errs);
    ck_assert_ptr_null(c);
    EXPECT_ERROR(&errs, 2, "databse: unknown key (did you mean 'database'?)");
    EXPECT_ERROR(&errs, 3, "http.lisen: unknown key");
    ck_assert_int_eq(errs.n, 2);
    conf_errors_free(&errs);
}
END_TEST

START_TEST(wrong_types_are_named)
{
    struct conf_errors errs = { 0 };
    struct conf *c = load_text("database = 5;\n"
                               "http = { max_body = \"big\"; metrics_open = 1; };\n"
                               "defaults = \"IE\";\n"
                               "modems = { name = \"m1\"; };\n", &errs);
    ck_assert_ptr_null(c);
    EXPECT_ERROR(&errs, 1, "database: expected a string in quotes, got an integer");
    EXPECT_ERROR(&errs, 2, "http.max_body: expected an integer, got a string");
    EXPECT_ERROR(&errs, 2, "http.metrics_open: expected true or false");
    EXPECT_ERROR(&errs, 3, "defaults: expected a group");
    EXPECT_ERROR(&errs, 4, "modems: expected a list of groups");
    conf_errors_free(&errs);
}
END_TEST

START_TEST(out_of_range_values_are_named)
{
    struct conf_errors errs = { 0 };
    struct conf *c = load_text("defaults = { max_segments = 300;\n validity = \"1s\"; };\n"
                               "modems = ( { name = \"m1\"; port = \"/dev/x\";\n"
                               "  baud = 12345; sends_per_minute = 0; } );\n"
                               "log = { level = \"loud\"; };\n", &errs);
    ck_assert_ptr_null(c);
    EXPECT_ERROR(&errs, 1, "defaults.max_segments: 300 is out of range 1..255");
    EXPECT_ERROR(&errs, 2, "defaults.validity: 1s is out of range");
    EXPECT_ERROR(&errs, 4, "modems[0].baud: 12345 is not one of 9600/");
    EXPECT_ERROR(&errs, 4, "modems[0].sends_per_minute: 0 is out of range 1..6000");
    EXPECT_ERROR(&errs, 5, "log.level: 'loud' is not one of error/warn/info/debug");
    conf_errors_free(&errs);
}
END_TEST

START_TEST(kannel_numbers_takes_one_of_three_readings)
{
    struct conf_errors errs = { 0 };
    struct conf *c = load_text("kannel_compat = {\n  numbers = \"intl\";\n};\n", &errs);
    ck_assert_ptr_null(c);
    EXPECT_ERROR(&errs, 2, "kannel_compat.numbers: 'intl' is not one of auto/international/national");
    conf_errors_free(&errs);
    c = load_text("kannel_compat = { numbers = \"national\"; };\n", &errs);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->kannel_compat.numbers, "national");
    conf_free(c);
    c = load_text("", &errs);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->kannel_compat.numbers, "auto");
    conf_free(c);
    conf_errors_free(&errs);
}
END_TEST

START_TEST(duplicate_names_are_errors)
{
    struct conf_errors errs = { 0 };
    struct conf *c = load_text("modems = (\n"
                               "  { name = \"m1\"; port = \"/dev/a\"; },\n"
                               "  { name = \"m1\"; port = \"/dev/b\"; }\n);\n"
                               "smpp = (\n  { name = \"m1\"; host = \"h\"; system_id = \"s\"; }\n);\n"
                               "routes = (\n  { match = \"+\"; via = [\"m1\"]; },\n"
                               "  { match = \"+\"; via = [\"m1\"]; }\n);\n", &errs);
    ck_assert_ptr_null(c);
    EXPECT_ERROR(&errs, 3, "modems[1].name: the name 'm1' is already used by modems[0].name (line 2)");
    EXPECT_ERROR(&errs, 6, "smpp[0].name: the name 'm1' is already used");
    EXPECT_ERROR(&errs, 10, "routes[1].match: '+' is already matched by routes[0]");
    conf_errors_free(&errs);
}
END_TEST

START_TEST(route_to_unknown_modem_is_an_error)
{
    struct conf_errors errs = { 0 };
    struct conf *c = load_text("modems = ( { name = \"m1\"; port = \"/dev/a\"; } );\n"
                               "routes = ( { match = \"+44\";\n"
                               "   via = [ \"m1\",\n \"m9\" ]; } );\n", &errs);
    ck_assert_ptr_null(c);
    EXPECT_ERROR(&errs, 4, "routes[0].via[1]: no modem or SMPP bind is named 'm9'");
    ck_assert_int_eq(errs.n, 1);
    conf_errors_free(&errs);
}
END_TEST

START_TEST(missing_required_keys)
{
    struct conf_errors errs = { 0 };
    struct conf *c = load_text("\nmodems = ( { baud = 9600; } );\n"
                               "campaigns = ( { name = \"c\"; } );\n", &errs);
    ck_assert_ptr_null(c);
    EXPECT_ERROR(&errs, 2, "modems[0]: missing required key 'name'");
    EXPECT_ERROR(&errs, 2, "modems[0]: missing required key 'port'");
    EXPECT_ERROR(&errs, 3, "campaigns[0]: missing required key 'steps'");
    conf_errors_free(&errs);
}
END_TEST

START_TEST(bad_values_with_grammar)
{
    struct conf_errors errs = { 0 };
    struct conf *c = load_text("http = { listen = \"localhost\"; };\n"
                               "defaults = { country = \"ZZ\"; timezone = \"Nowhere/City\"; };\n"
                               "quiet_hours = { start = \"24:00\"; end = \"8am\"; };\n"
                               "modems = ( { name = \"bad name\"; port = \"COM1\"; pin = \"12a4\"; } );\n",
                               &errs);
    ck_assert_ptr_null(c);
    EXPECT_ERROR(&errs, 1, "http.listen: 'localhost' is not host:port");
    EXPECT_ERROR(&errs, 2, "defaults.country: 'ZZ'");
    EXPECT_ERROR(&errs, 2, "defaults.timezone: 'Nowhere/City' is not an IANA time zone");
    EXPECT_ERROR(&errs, 3, "quiet_hours.start: '24:00' is not a time of day");
    EXPECT_ERROR(&errs, 3, "quiet_hours.end: '8am' is not a clock time");
    EXPECT_ERROR(&errs, 4, "modems[0].name: 'bad name' is not a valid name");
    EXPECT_ERROR(&errs, 4, "modems[0].port: 'COM1' is neither a device path");
    EXPECT_ERROR(&errs, 4, "modems[0].pin: a SIM PIN is 4 to 8 digits");
    conf_errors_free(&errs);
}
END_TEST

START_TEST(every_error_is_reported_in_file_order)
{
    struct conf_errors errs = { 0 };
    struct conf *c = load_text("a = 1;\nhttp = { listen = \"x\"; };\nb = 2;\n", &errs);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(errs.n, 3);
    ck_assert_ptr_nonnull(strstr(errs.lines[0], ":1: a: unknown key"));
    ck_assert_ptr_nonnull(strstr(errs.lines[1], ":2: http.listen"));
    ck_assert_ptr_nonnull(strstr(errs.lines[2], ":3: b: unknown key"));
    conf_errors_free(&errs);
}
END_TEST

START_TEST(syntax_error_and_missing_file)
{
    struct conf_errors errs = { 0 };
    ck_assert_ptr_null(load_text("database = \"x\";\n\nhttp = { listen = ; };\n", &errs));
    EXPECT_ERROR(&errs, 3, "syntax error");
    conf_errors_free(&errs);
    ck_assert_ptr_null(conf_load("/nonexistent/homing.conf", &errs));
    ck_assert_int_eq(errs.n, 1);
    ck_assert_ptr_nonnull(strstr(errs.lines[0], "/nonexistent/homing.conf: cannot read the file"));
    conf_errors_free(&errs);
}
END_TEST

static int64_t dur(const char *text)
{
    int64_t s = -1;
    char why[200];
    return conf_parse_duration(text, &s, why, sizeof why) ? s : -1;
}

START_TEST(durations)
{
    ck_assert_int_eq(dur("90s"), 90);
    ck_assert_int_eq(dur("15m"), 900);
    ck_assert_int_eq(dur("48h"), 172800);
    ck_assert_int_eq(dur("7d"), 604800);
    ck_assert_int_eq(dur("2w"), 1209600);
    ck_assert_int_eq(dur("1h30m"), 5400);
    ck_assert_int_eq(dur("0d"), 0);
    ck_assert_int_eq(dur(""), -1);
    ck_assert_int_eq(dur("5"), -1);
    ck_assert_int_eq(dur("5x"), -1);
    ck_assert_int_eq(dur("h"), -1);
    ck_assert_int_eq(dur("-5s"), -1);
    ck_assert_int_eq(dur("5 s"), -1);
    ck_assert_int_eq(dur("99999999999d"), -1);
    char why[200];
    int64_t s;
    ck_assert(!conf_parse_duration("5", &s, why, sizeof why));
    ck_assert_str_eq(why, "'5' has no unit: add s, m, h, d or w");
    ck_assert(!conf_parse_duration("3y", &s, why, sizeof why));
    ck_assert_str_eq(why, "unknown unit 'y' in '3y': use s, m, h, d or w");
}
END_TEST

static int64_t clk(const char *text)
{
    int64_t m = -1;
    char why[200];
    return conf_parse_clock(text, &m, why, sizeof why) ? m : -1;
}

START_TEST(clock_times)
{
    ck_assert_int_eq(clk("21:00"), 1260);
    ck_assert_int_eq(clk("08:30"), 510);
    ck_assert_int_eq(clk("00:00"), 0);
    ck_assert_int_eq(clk("23:59"), 1439);
    ck_assert_int_eq(clk("8:30"), 510);
    ck_assert_int_eq(clk("24:00"), -1);
    ck_assert_int_eq(clk("21:60"), -1);
    ck_assert_int_eq(clk("8"), -1);
    ck_assert_int_eq(clk("ab:cd"), -1);
    ck_assert_int_eq(clk("21:00x"), -1);
    ck_assert_int_eq(clk(""), -1);
}
END_TEST

START_TEST(listen_addresses)
{
    char host[64], why[200];
    int port;
    ck_assert(conf_parse_listen("127.0.0.1:8080", host, sizeof host, &port, why, sizeof why));
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_int_eq(port, 8080);
    ck_assert(conf_parse_listen("[::1]:80", host, sizeof host, &port, why, sizeof why));
    ck_assert_str_eq(host, "::1");
    ck_assert(!conf_parse_listen("127.0.0.1", host, sizeof host, &port, why, sizeof why));
    ck_assert(!conf_parse_listen(":80", host, sizeof host, &port, why, sizeof why));
    ck_assert(!conf_parse_listen("h:70000", host, sizeof host, &port, why, sizeof why));
    ck_assert(!conf_parse_listen("h:8o", host, sizeof host, &port, why, sizeof why));
}
END_TEST

struct mention_check {
    char *text;
    const char *file;
    int missing;
};

/* The sample documents each key: its last name appears as "name =" (set or in a comment). */
static void check_sample_mentions(const char *path, void *arg)
{
    struct mention_check *mc = arg;
    const char *last = strrchr(path, '.');
    last = last ? last + 1 : path;
    char needle[96];
    snprintf(needle, sizeof needle, "%.*s =", (int)strcspn(last, "["), last);
    if (!strstr(mc->text, needle)) {
        fprintf(stderr, "%s does not mention key %s\n", mc->file, path);
        mc->missing++;
    }
}

static void check_docs_mentions(const char *path, void *arg)
{
    struct mention_check *mc = arg;
    char needle[300];
    snprintf(needle, sizeof needle, "`%s`", path);
    if (!strstr(mc->text, needle)) {
        fprintf(stderr, "%s does not list key %s\n", mc->file, path);
        mc->missing++;
    }
}

START_TEST(sample_and_docs_cover_every_key)
{
    struct mention_check sample = { testutil_read_file("config/homing.conf"), "config/homing.conf", 0 };
    struct mention_check docs = { testutil_read_file("docs/configuration.md"), "docs/configuration.md", 0 };
    ck_assert_ptr_nonnull(sample.text);
    ck_assert_ptr_nonnull(docs.text);
    conf_schema_walk(check_sample_mentions, &sample);
    conf_schema_walk(check_docs_mentions, &docs);
    ck_assert_int_eq(sample.missing, 0);
    ck_assert_int_eq(docs.missing, 0);

    /* The reference table in the docs is exactly what `homing config reference` prints. */
    char *table = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&table, &len);
    conf_print_reference(mem);
    fclose(mem);
    ck_assert_msg(strstr(docs.text, table) != NULL,
                  "docs/configuration.md's table differs from `homing config reference`; "
                  "regenerate it");
    free(table);
    free(sample.text);
    free(docs.text);
}
END_TEST

/*
 * systemd kills a stop that outlasts TimeoutStopSec: every shutdown_grace the
 * config accepts must end before it, so one as long as it is refused.
 */
START_TEST(shutdown_grace_stays_below_the_units_stop_timeout)
{
    char *unit = testutil_read_file("config/homing.service");
    ck_assert_ptr_nonnull(unit);
    const char *at = strstr(unit, "\nTimeoutStopSec=");
    ck_assert_msg(at, "config/homing.service sets no TimeoutStopSec");
    long unit_s = strtol(at + strlen("\nTimeoutStopSec="), NULL, 10);
    free(unit);
    ck_assert_int_gt(unit_s, 10);
    char text[128];
    struct conf_errors errs = { 0 };
    snprintf(text, sizeof text, "service = { shutdown_grace = \"%lds\"; };\n", unit_s);
    ck_assert_ptr_null(load_text(text, &errs));
    EXPECT_ERROR(&errs, 1, "service.shutdown_grace");
    conf_errors_free(&errs);
    struct conf *c = load_text("service = { shutdown_grace = \"2s\"; };\n", &errs);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->service.shutdown_grace, 2);
    conf_free(c);
    c = load_text("", &errs);
    ck_assert_int_eq(c->service.shutdown_grace, 10);
    conf_free(c);
}
END_TEST

START_TEST(campaign_inherits_global_limits)
{
    struct conf_errors errs = { 0 };
    struct conf *c = load_text("quiet_hours = { start = \"20:00\"; end = \"09:30\"; };\n"
                               "frequency_cap = { messages = 2; per = \"7d\"; };\n"
                               "campaigns = (\n"
                               "  { name = \"a\"; steps = ( { text = \"hi\"; } ); },\n"
                               "  { name = \"b\"; quiet_hours = { start = \"22:00\"; };\n"
                               "    frequency_cap = { messages = 5; };\n"
                               "    steps = ( { text = \"hi\"; } ); }\n"
                               ");\n", &errs);
    dump(&errs);
    ck_assert_ptr_nonnull(c);
    const struct conf_campaign *a = &c->campaigns[0], *b = &c->campaigns[1];
    ck_assert_int_eq(a->quiet_hours.start, 20 * 60);
    ck_assert_int_eq(a->quiet_hours.end, 9 * 60 + 30);
    ck_assert_int_eq(a->frequency_cap.messages, 2);
    ck_assert_int_eq(a->frequency_cap.per, 7 * 86400);
    ck_assert_int_eq(b->quiet_hours.start, 22 * 60);   /* its own */
    ck_assert_int_eq(b->quiet_hours.end, 9 * 60 + 30); /* the global one */
    ck_assert_int_eq(b->frequency_cap.messages, 5);
    ck_assert_int_eq(b->frequency_cap.per, 7 * 86400);
    ck_assert(a->consent_required);
    conf_free(c);
    conf_errors_free(&errs);
}
END_TEST

START_TEST(campaign_step_errors)
{
    struct conf_errors errs = { 0 };
    struct conf *c = load_text("campaigns = ( { name = \"c\"; route = \"nowhere\";\n"
                               "  steps = (\n"
                               "    { text = \"x\"; variants = ( { name = \"A\"; text = \"y\"; } ); },\n"
                               "    { after = \"1d\"; },\n"
                               "    { variants = ( { name = \"A\"; text = \"y\"; },\n"
                               "                   { name = \"A\"; text = \"z\"; } ); },\n"
                               "    { text = \"Hi {name\"; },\n"
                               "    { variants = ( { name = \"A\";\n"
                               "                     text = \"oops } here\"; } ); }\n"
                               "  ); } );\n", &errs);
    ck_assert_ptr_null(c);
    EXPECT_ERROR(&errs, 1, "campaigns[0].route: no modem or SMPP bind is named 'nowhere'");
    EXPECT_ERROR(&errs, 3, "campaigns[0].steps[0]: give text or variants, not both");
    EXPECT_ERROR(&errs, 4, "campaigns[0].steps[1]: a step needs text or variants");
    EXPECT_ERROR(&errs, 6, "campaigns[0].steps[2].variants[1].name: the variant name 'A' is "
                 "used twice");
    EXPECT_ERROR(&errs, 7, "campaigns[0].steps[3].text: bad template: column 4: '{' is not "
                 "closed");
    EXPECT_ERROR(&errs, 9, "campaigns[0].steps[4].variants[0].text: bad template: column 6: "
                 "'}' with no '{'");
    conf_free(c);
    conf_errors_free(&errs);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("config");
    TCase *t = tcase_create("load");
    tcase_add_test(t, sample_config_is_valid);
    tcase_add_test(t, defaults_fill_an_empty_file);
    tcase_add_test(t, modem_defaults_apply_per_element);
    tcase_add_test(t, unknown_key_names_line_and_suggests);
    tcase_add_test(t, wrong_types_are_named);
    tcase_add_test(t, out_of_range_values_are_named);
    tcase_add_test(t, kannel_numbers_takes_one_of_three_readings);
    tcase_add_test(t, duplicate_names_are_errors);
    tcase_add_test(t, route_to_unknown_modem_is_an_error);
    tcase_add_test(t, missing_required_keys);
    tcase_add_test(t, bad_values_with_grammar);
    tcase_add_test(t, every_error_is_reported_in_file_order);
    tcase_add_test(t, syntax_error_and_missing_file);
    tcase_add_test(t, sample_and_docs_cover_every_key);
    tcase_add_test(t, campaign_inherits_global_limits);
    tcase_add_test(t, shutdown_grace_stays_below_the_units_stop_timeout);
    tcase_add_test(t, campaign_step_errors);
    suite_add_tcase(s, t);
    TCase *v = tcase_create("values");
    tcase_add_test(v, durations);
    tcase_add_test(v, clock_times);
    tcase_add_test(v, listen_addresses);
    suite_add_tcase(s, v);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
