/* `homing segments` and `homing pdu` through the real binary, JSON contracts included. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"

/* Runs homing with up to 5 arguments; returns the exit code and parsed stdout (NULL if not JSON). */
static int run_json(json_t **out, char **err, const char *a1, const char *a2, const char *a3,
                    const char *a4, const char *a5)
{
    const char *argv[] = { testutil_program("homing"), a1, a2, a3, a4, a5, NULL };
    char *text = NULL;
    int rc = testutil_exec(argv, NULL, 20000, &text, err);
    json_error_t jerr;
    *out = text ? json_loads(text, 0, &jerr) : NULL;
    free(text);
    return rc;
}

START_TEST(segments_json)
{
    json_t *j;
    char *err;
    ck_assert_int_eq(run_json(&j, &err, "segments", "--json", "Price: 5€ {promo}", NULL, NULL), 0);
    ck_assert_str_eq(json_string_value(json_object_get(j, "encoding")), "gsm7");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "segments")), 1);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "parts"), 0)),
                     "Price: 5€ {promo}");
    json_decref(j);
    free(err);
    ck_assert_int_eq(run_json(&j, &err, "segments", "--json", "Thanks 😀", NULL, NULL), 0);
    ck_assert_str_eq(json_string_value(json_object_get(j, "encoding")), "ucs2");
    json_decref(j);
    free(err);
}
END_TEST

START_TEST(pdu_encode_then_decode)
{
    json_t *j, *d;
    char *err;
    ck_assert_int_eq(run_json(&j, &err, "pdu", "encode", "--to", "+353871234567", "--json"), 2);
    free(err); /* no text given */
    json_decref(j);
    const char *argv[] = { testutil_program("homing"), "pdu", "encode", "--to", "+353871234567",
                           "--srr", "--json", "Hello €", NULL };
    char *text;
    ck_assert_int_eq(testutil_exec(argv, NULL, 20000, &text, &err), 0);
    json_error_t jerr;
    j = json_loads(text, 0, &jerr);
    free(text);
    free(err);
    ck_assert_int_eq(json_array_size(j), 1);
    const char *pdu = json_string_value(json_object_get(json_array_get(j, 0), "pdu"));
    ck_assert_int_eq(strncmp(pdu, "00", 2), 0);
    /* AT+CMGS length counts the TPDU only: the hex less the SMSC octet, halved. */
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(j, 0), "length")),
                     (json_int_t)(strlen(pdu) / 2 - 1));
    ck_assert_int_eq(run_json(&d, &err, "pdu", "decode", "--json", pdu, NULL), 0);
    ck_assert_str_eq(json_string_value(json_object_get(d, "type")), "submit");
    ck_assert_str_eq(json_string_value(json_object_get(d, "destination")), "+353871234567");
    ck_assert_str_eq(json_string_value(json_object_get(d, "text")), "Hello €");
    ck_assert(json_is_true(json_object_get(d, "srr")));
    json_decref(d);
    json_decref(j);
    free(err);
}
END_TEST

START_TEST(pdu_decode_status_report_and_errors)
{
    json_t *j;
    char *err;
    /* An SMS-STATUS-REPORT as a modem prints it after +CDS (SMSC prefix, TP-ST 0: delivered). */
    ck_assert_int_eq(run_json(&j, &err, "pdu", "decode", "--json",
                              "0006D60B911326880736F4111011719551401110117195714000", NULL), 0);
    ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "status-report");
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "delivered");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "mr")), 0xD6);
    json_decref(j);
    free(err);
    ck_assert_int_eq(run_json(&j, &err, "pdu", "decode", "0011", NULL, NULL), 2);
    ck_assert_ptr_nonnull(strstr(err, "TP-MR"));
    free(err);
    ck_assert_int_eq(run_json(&j, &err, "pdu", "decode", "zz", NULL, NULL), 2);
    free(err);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("codec_cli");
    TCase *t = tcase_create("cli");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, segments_json);
    tcase_add_test(t, pdu_encode_then_decode);
    tcase_add_test(t, pdu_decode_status_report_and_errors);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
