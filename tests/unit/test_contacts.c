/*
 * Contacts: the CSV reader (RFC 4180 quoting, CRLF and LF, a BOM, line
 * numbers of records that span lines, malformed records skipped) and the
 * import into a store on disk (bad rows with their line and reason, upserts,
 * consent forms, attributes for templates).
 */
#include <stdlib.h>
#include <string.h>

#include "gateway/store.h"
#include "scheduler/sched_contacts.h"
#include "scheduler/sched_csv.h"
#include "tests/testutil.h"

/* Reads every record of `text` into "line:f1|f2|...;" (or "line:!reason;"). */
static char *records(const char *text)
{
    struct sched_csv *c = sched_csv_from_buffer(text, strlen(text));
    static char out[2048];
    const char *const *f;
    size_t n, len = 0;
    long line;
    char err[200];
    int rc;
    out[0] = '\0';
    while ((rc = sched_csv_next(c, &f, &n, &line, err, sizeof err)) != 0) {
        len += (size_t)snprintf(out + len, sizeof out - len, "%ld:", line);
        if (rc < 0)
            len += (size_t)snprintf(out + len, sizeof out - len, "!%s", err);
        for (size_t i = 0; rc > 0 && i < n; i++)
            len += (size_t)snprintf(out + len, sizeof out - len, "%s%s", i ? "|" : "", f[i]);
        len += (size_t)snprintf(out + len, sizeof out - len, ";");
    }
    sched_csv_free(c);
    return out;
}

START_TEST(csv_plain_and_quoted)
{
    ck_assert_str_eq(records("a,b,c\n1,2,3\n"), "1:a|b|c;2:1|2|3;");
    ck_assert_str_eq(records("a,b\r\n1,2\r\n"), "1:a|b;2:1|2;");
    ck_assert_str_eq(records("a,b\n1,2"), "1:a|b;2:1|2;");              /* no final newline */
    ck_assert_str_eq(records("\xEF\xBB\xBFphone\n+1\n"), "1:phone;2:+1;");  /* BOM */
    ck_assert_str_eq(records("\"a,b\",\"say \"\"hi\"\"\",\"\"\n"), "1:a,b|say \"hi\"|;");
    ck_assert_str_eq(records("a,,\n"), "1:a||;");                        /* empty fields */
    ck_assert_str_eq(records("a\n\n\r\nb\n"), "1:a;4:b;");               /* blank lines */
    ck_assert_str_eq(records("x,\"two\nlines\",y\nz\n"), "1:x|two\nlines|y;3:z;");
    ck_assert_str_eq(records("Zoë,Dún\n"), "1:Zoë|Dún;");
    ck_assert_str_eq(records("a\rb,c\n"), "1:a\rb|c;");                  /* a lone CR is text */
    ck_assert_str_eq(records(""), "");
}
END_TEST

START_TEST(csv_malformed_records_are_skipped)
{
    ck_assert_str_eq(records("a,\"b\"c,d\nok\n"),
                     "1:!field 2 has text after its closing quote (a quote inside a quoted "
                     "field is written twice: \"\");2:ok;");
    ck_assert_str_eq(records("ok\nx,\"never closed\n"),
                     "1:ok;2:!field 2 opens a quote that is never closed;");
}
END_TEST

/* --- import ------------------------------------------------------------------ */

struct seen {
    char text[2048];
    size_t len;
};

static void bad_row(long line, const char *why, void *arg)
{
    struct seen *s = arg;
    s->len += (size_t)snprintf(s->text + s->len, sizeof s->text - s->len, "%ld: %s\n", line, why);
}

static struct store *open_store(void)
{
    char path[600], err[256];
    snprintf(path, sizeof path, "%s/homing.db", testutil_tmpdir());
    struct store *st = store_open(path, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    return st;
}

static bool import(struct store *st, const char *csv, struct sched_import *imp, struct seen *s,
                   char *err, size_t err_size)
{
    char path[600];
    snprintf(path, sizeof path, "%s", testutil_write_file(testutil_tmpdir(), "c.csv", csv));
    *imp = (struct sched_import){ .country = "IE", .now = 1700000000, .bad_row = bad_row,
                                  .arg = s, .batch = 2 };
    memset(s, 0, sizeof *s);
    return sched_contacts_import(st, path, imp, err, err_size);
}

START_TEST(import_reports_bad_rows_and_keeps_good_ones)
{
    struct store *st = open_store();
    struct sched_import imp;
    struct seen s;
    char err[512];
    ck_assert(import(st,
                     "Phone,Name,TimeZone,Consent,consent_at,code,tier\r\n"
                     "087 123 4567,Zoë,Europe/Dublin,yes,,SAVE10,gold\r\n"
                     "+353871230002,Al,Nowhere/X,yes,,,\r\n"
                     "12ab,x,,no,,,\r\n"
                     "+353871230004,\"multi\nline\",,2024-05-01,,C3,\r\n"
                     "+353871230005,Bo,,maybe,,,\r\n"
                     "+353871230006,short\r\n"
                     ",nobody,,,,,\r\n"
                     "+353871230008,Cy,,,2024-01-01,,\r\n"
                     "+353871230009,Di,,no,2024-13-01,,\r\n"
                     "+353871230010,Ed,America/New_York,true,2024-02-03T10:00:00Z,,\r\n"
                     "+353871230011,,,0,,,\r\n",
                     &imp, &s, err, sizeof err));
    ck_assert_int_eq(imp.imported, 4);
    ck_assert_int_eq(imp.skipped, 7);
    ck_assert_str_eq(s.text,
                     "3: timezone 'Nowhere/X' is not an IANA time zone (like Europe/Dublin)\n"
                     "4: phone: '12ab' is not a phone number: unexpected 'a' at position 3\n"
                     "7: consent 'maybe' is not yes/no, true/false, 1/0 or a date\n"
                     "8: has 2 fields, the header has 7\n"
                     "9: no phone number\n"
                     "10: consent_at is given but consent is empty\n"
                     "11: consent_at '2024-13-01' is not a date (YYYY-MM-DD) or an ISO 8601 time\n");
    struct sched_contact c;
    ck_assert(sched_contact_get(st, "+353871234567", &c, err, sizeof err));
    ck_assert(c.found);
    ck_assert_str_eq(c.consent, "yes");
    ck_assert_int_eq(c.consent_at, 1700000000);   /* no date in the file: the import's time */
    ck_assert_str_eq(json_string_value(json_object_get(c.fields, "name")), "Zoë");
    ck_assert_str_eq(json_string_value(json_object_get(c.fields, "code")), "SAVE10");
    ck_assert_str_eq(json_string_value(json_object_get(c.fields, "tier")), "gold");
    ck_assert_str_eq(json_string_value(json_object_get(c.fields, "phone")), "+353871234567");
    ck_assert_str_eq(c.timezone, "Europe/Dublin");
    sched_contact_clear(&c);
    ck_assert(sched_contact_get(st, "+353871230010", &c, err, sizeof err));
    ck_assert_int_eq(c.consent_at, 1706954400);
    sched_contact_clear(&c);
    ck_assert(sched_contact_get(st, "+353871230011", &c, err, sizeof err));
    ck_assert_str_eq(c.consent, "no");
    ck_assert_ptr_null(json_object_get(c.fields, "name"));
    sched_contact_clear(&c);
    ck_assert(sched_contact_get(st, "+353871230002", &c, err, sizeof err));
    ck_assert(!c.found);
    sched_contact_clear(&c);
    store_close(st);
}
END_TEST

START_TEST(import_again_updates)
{
    struct store *st = open_store();
    struct sched_import imp;
    struct seen s;
    char err[512];
    ck_assert(import(st, "msisdn,name,consent,code,tier\n+353871230001,Zoe,2024-05-01,A1,gold\n",
                     &imp, &s, err, sizeof err));
    ck_assert(import(st, "msisdn,name,consent,code,city\n+353871230001,,,B2,Cork\n", &imp, &s,
                     err, sizeof err));
    ck_assert_int_eq(imp.imported, 1);
    struct sched_contact c;
    ck_assert(sched_contact_get(st, "+353871230001", &c, err, sizeof err));
    ck_assert_str_eq(json_string_value(json_object_get(c.fields, "name")), "Zoe"); /* kept */
    ck_assert_str_eq(c.consent, "yes");                                           /* kept */
    ck_assert_str_eq(json_string_value(json_object_get(c.fields, "code")), "B2"); /* replaced */
    ck_assert_str_eq(json_string_value(json_object_get(c.fields, "tier")), "gold");
    ck_assert_str_eq(json_string_value(json_object_get(c.fields, "city")), "Cork");
    sched_contact_clear(&c);
    ck_assert(import(st, "phone,consent\n+353871230001,no\n", &imp, &s, err, sizeof err));
    ck_assert(sched_contact_get(st, "+353871230001", &c, err, sizeof err));
    ck_assert_str_eq(c.consent, "no");
    sched_contact_clear(&c);
    store_close(st);
}
END_TEST

START_TEST(import_refuses_files_without_a_usable_header)
{
    struct store *st = open_store();
    struct sched_import imp;
    struct seen s;
    char err[512];
    ck_assert(!import(st, "name,consent\nZoe,yes\n", &imp, &s, err, sizeof err));
    ck_assert_msg(strstr(err, "c.csv:1: the header has no phone column"), "%s", err);
    ck_assert(!import(st, "", &imp, &s, err, sizeof err));
    ck_assert_msg(strstr(err, "c.csv is empty"), "%s", err);
    ck_assert(!import(st, "phone,name,Name\n", &imp, &s, err, sizeof err));
    ck_assert_msg(strstr(err, "c.csv:1: columns 2 and 3 are both 'Name'"), "%s", err);
    ck_assert(!import(st, "phone,,x\n", &imp, &s, err, sizeof err));
    ck_assert_msg(strstr(err, "column 2 of the header has no name"), "%s", err);
    imp = (struct sched_import){ .country = "IE" };
    ck_assert(!sched_contacts_import(st, "/nonexistent/x.csv", &imp, err, sizeof err));
    ck_assert_msg(strstr(err, "cannot read /nonexistent/x.csv"), "%s", err);
    store_close(st);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("contacts");
    TCase *t = tcase_create("csv");
    tcase_add_test(t, csv_plain_and_quoted);
    tcase_add_test(t, csv_malformed_records_are_skipped);
    suite_add_tcase(s, t);
    TCase *i = tcase_create("import");
    tcase_add_test(i, import_reports_bad_rows_and_keeps_good_ones);
    tcase_add_test(i, import_again_updates);
    tcase_add_test(i, import_refuses_files_without_a_usable_header);
    suite_add_tcase(s, i);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
