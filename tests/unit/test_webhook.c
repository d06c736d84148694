/*
 * Webhooks without the network: Kannel dlr-url escapes, the retry schedule,
 * the DLR type of each part state, and the outbox's life cycle in the store
 * (claim, retry, give up, delete, recover after a stop).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/store.h"
#include "gateway/webhooks.h"
#include "tests/testutil.h"

static const struct webhooks_dlr sample = {
    .type = 8, .msg_id = 42, .to = "+353871234567", .from = "Acme Ltd", .route = "m1",
    .ref = "m1:17", .reply = "ACK/m1:17 ok&more", .at = 1700000000,
};

static void expect_url(const char *tmpl, const char *want)
{
    char *got = webhooks_dlr_url(tmpl, &sample);
    ck_assert_str_eq(got, want);
    free(got);
}

START_TEST(dlr_escapes_are_filled_and_encoded)
{
    expect_url("http://h/d?type=%d&to=%p&from=%P&smsc=%i&id=%I&ts=%T&reply=%A",
               "http://h/d?type=8&to=%2B353871234567&from=Acme%20Ltd&smsc=m1&id=42"
               "&ts=1700000000&reply=ACK%2Fm1%3A17%20ok%26more");
    expect_url("%F|%t", "m1%3A17|2023-11-14%2022%3A13%3A20");
    /* %q is %p with a leading 00 turned into +: E.164 numbers stay as they are. */
    expect_url("%q", "%2B353871234567");
}
END_TEST

START_TEST(unknown_escapes_and_odd_percents_stay)
{
    expect_url("http://h/?x=%Z&y=%k&z=100%%", "http://h/?x=%Z&y=%k&z=100%");
    expect_url("trailing%", "trailing%");
    expect_url("%20already%2Fencoded", "%20already%2Fencoded");
    expect_url("", "");
}
END_TEST

START_TEST(missing_values_are_empty_and_00_becomes_plus)
{
    struct webhooks_dlr d = { .type = 1, .msg_id = 7, .to = "00353871234567" };
    char *got = webhooks_dlr_url("%d:%p:%P:%i:%A:%q:%Q", &d);
    ck_assert_str_eq(got, "1:00353871234567::::%2B353871234567:");
    free(got);
}
END_TEST

START_TEST(dlr_type_follows_kannel_mask_bits)
{
    ck_assert_int_eq(webhooks_dlr_type(PART_DELIVERED), 1);
    ck_assert_int_eq(webhooks_dlr_type(PART_UNDELIVERED), 2);
    ck_assert_int_eq(webhooks_dlr_type(PART_SUBMITTED), 8);
    ck_assert_int_eq(webhooks_dlr_type(PART_FAILED), 16);
    ck_assert_int_eq(webhooks_dlr_type(PART_PENDING), 0);
}
END_TEST

START_TEST(backoff_doubles_up_to_the_cap)
{
    const int64_t want[] = { 5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600 };
    for (int i = 0; i < (int)(sizeof want / sizeof want[0]); i++)
        ck_assert_int_eq(webhooks_backoff(i + 1, 5, 3600), want[i]);
    ck_assert_int_eq(webhooks_backoff(1000, 5, 3600), 3600);
    ck_assert_int_eq(webhooks_backoff(1, 30, 10), 10);
}
END_TEST

START_TEST(outbox_claims_retries_gives_up_and_recovers)
{
    char err[512], path[700];
    snprintf(path, sizeof path, "%s/homing.db", testutil_tmpdir());
    struct store *st = store_open(path, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    int64_t a, b;
    struct store_outbox_new ea = { .kind = "receipt", .method = "POST", .url = "http://h/r",
                                   .body = "{}", .entity_id = 1 };
    struct store_outbox_new eb = { .kind = "dlr", .method = "GET", .url = "http://h/d",
                                   .entity_id = 2 };
    ck_assert_int_eq(store_outbox_add(st, &ea, 100, &a, err, sizeof err), STORE_OK);
    ck_assert_int_eq(store_outbox_add(st, &eb, 101, &b, err, sizeof err), STORE_OK);

    struct store_outbox_row rows[4];
    size_t n;
    ck_assert_int_eq(store_outbox_claim(st, 100, rows, 4, &n, err, sizeof err), STORE_OK);
    ck_assert_uint_eq(n, 1); /* b is not due yet */
    ck_assert_int_eq(rows[0].id, a);
    ck_assert_str_eq(rows[0].body, "{}");
    store_outbox_row_clear(&rows[0]);
    ck_assert_int_eq(store_outbox_claim(st, 200, rows, 4, &n, err, sizeof err), STORE_OK);
    ck_assert_uint_eq(n, 1); /* a is in flight: only b */
    ck_assert_int_eq(rows[0].id, b);
    ck_assert_ptr_null(rows[0].body);
    store_outbox_row_clear(&rows[0]);

    /* a fails once: due again later, one attempt counted. b gives up. */
    ck_assert_int_eq(store_outbox_retry(st, a, 300, false, "HTTP status 500", 200, err, sizeof err),
                     STORE_OK);
    ck_assert_int_eq(store_outbox_retry(st, b, 300, true, "refused", 200, err, sizeof err), STORE_OK);
    ck_assert_int_eq(store_outbox_claim(st, 299, rows, 4, &n, err, sizeof err), STORE_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(store_outbox_claim(st, 300, rows, 4, &n, err, sizeof err), STORE_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(rows[0].id, a);
    ck_assert_int_eq(rows[0].attempts, 1);
    store_outbox_row_clear(&rows[0]);

    /* A stop while a is in flight: at the next start it is due again. */
    store_close(st);
    st = store_open(path, err, sizeof err);
    int64_t recovered = 0;
    ck_assert_int_eq(store_outbox_recover(st, 400, &recovered, err, sizeof err), STORE_OK);
    ck_assert_int_eq(recovered, 1);
    ck_assert_int_eq(store_outbox_claim(st, 400, rows, 4, &n, err, sizeof err), STORE_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(store_outbox_done(st, rows[0].id, err, sizeof err), STORE_OK);
    store_outbox_row_clear(&rows[0]);
    ck_assert_int_eq(store_outbox_recover(st, 500, &recovered, err, sizeof err), STORE_OK);
    ck_assert_int_eq(recovered, 0);
    ck_assert_int_eq(store_outbox_claim(st, 10000, rows, 4, &n, err, sizeof err), STORE_OK);
    ck_assert_uint_eq(n, 0); /* a delivered and gone; b failed for good */
    store_close(st);
}
END_TEST

START_TEST(inbound_rows_read_back)
{
    char err[512], path[700];
    snprintf(path, sizeof path, "%s/homing.db", testutil_tmpdir());
    struct store *st = store_open(path, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    struct store_inbound_part p = { .sender = "+353861234567", .text = "hi", .route = "m1" };
    struct store_inbound_result r;
    ck_assert_int_eq(store_inbound_add(st, &p, 1234, &r, err, sizeof err), STORE_OK);
    int64_t id = r.id;
    struct store_inbound in;
    ck_assert_int_eq(store_inbound_get(st, id, &in, err, sizeof err), STORE_OK);
    ck_assert_str_eq(in.sender, "+353861234567");
    ck_assert_ptr_null(in.recipient);
    ck_assert_str_eq(in.text, "hi");
    ck_assert_int_eq(in.received_at, 1234);
    ck_assert(in.complete);
    store_inbound_clear(&in);
    ck_assert_int_eq(store_inbound_get(st, id + 1, &in, err, sizeof err), STORE_NOT_FOUND);

    /* A long message missing a part: delivered incomplete, and its id reported. */
    struct store_inbound_part part = { .sender = "+353861234567", .text = "first half",
                                       .concat = true, .ref = 9, .total = 2, .seq = 1 };
    ck_assert_int_eq(store_inbound_add(st, &part, 2000, &r, err, sizeof err), STORE_OK);
    ck_assert_int_eq(r.id, 0);
    int64_t ids[STORE_INBOUND_EXPIRE_MAX];
    int n = 0;
    ck_assert_int_eq(store_inbound_expire(st, 2001, 3000, NULL, &n, ids, err, sizeof err), STORE_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(store_inbound_get(st, ids[0], &in, err, sizeof err), STORE_OK);
    ck_assert(!in.complete);
    ck_assert_str_eq(in.text, "first half");
    store_inbound_clear(&in);
    store_close(st);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("webhook");
    TCase *t = tcase_create("webhook");
    tcase_add_test(t, dlr_escapes_are_filled_and_encoded);
    tcase_add_test(t, unknown_escapes_and_odd_percents_stay);
    tcase_add_test(t, missing_values_are_empty_and_00_becomes_plus);
    tcase_add_test(t, dlr_type_follows_kannel_mask_bits);
    tcase_add_test(t, backoff_doubles_up_to_the_cap);
    tcase_add_test(t, outbox_claims_retries_gives_up_and_recovers);
    tcase_add_test(t, inbound_rows_read_back);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
