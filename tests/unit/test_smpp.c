/*
 * Tests for the pure parts of gateway/smpp: the command_status table
 * (temporary vs permanent, vendor codes), reconnect backoff, the adaptive
 * submit rate, and the index that maps receipt ids to submit ids.
 */
#include "gateway/smpp.h"
#include "tests/testutil.h"

#include <stdio.h>
#include <string.h>

START_TEST(statuses)
{
    char text[80];
    ck_assert_str_eq(smpp_status_name(0x0E), "ESME_RINVPASWD");
    ck_assert_str_eq(smpp_status_text(0x0E, text, sizeof text), "ESME_RINVPASWD (0x0000000e)");
    ck_assert_ptr_null(smpp_status_name(0x40B));
    ck_assert_str_eq(smpp_status_text(0x40B, text, sizeof text), "vendor status 0x0000040b");
    ck_assert(smpp_status_temporary(0x40B));      /* unknown vendor code: retry */
    ck_assert(smpp_status_temporary(SMPP_ESME_RSYSERR));
    ck_assert(smpp_status_temporary(SMPP_ESME_RTHROTTLED));
    ck_assert(!smpp_status_temporary(0x0B));      /* ESME_RINVDSTADR */
    ck_assert(!smpp_status_temporary(SMPP_ESME_RINVMSGLEN));
    ck_assert(smpp_status_throttle(0x58) && smpp_status_throttle(0x14));
    ck_assert(!smpp_status_throttle(0x08));
}
END_TEST

START_TEST(backoff)
{
    ck_assert_int_eq(smpp_backoff_ms(0, 1000, 60000, 0.999999), 999);
    ck_assert_int_eq(smpp_backoff_ms(0, 1000, 60000, 0), 750);
    ck_assert_int_eq(smpp_backoff_ms(3, 1000, 60000, 0), 6000);
    ck_assert_int_eq(smpp_backoff_ms(10, 1000, 60000, 0), 45000);  /* capped */
    ck_assert_int_le(smpp_backoff_ms(1000, 1000, 60000, 0.5), 60000);
    /* With any jitter, each wait is longer than the one before until the cap. */
    for (int i = 0; i < 5; i++)
        ck_assert_int_gt(smpp_backoff_ms(i + 1, 1000, 60000, 0),
                         smpp_backoff_ms(i, 1000, 60000, 0.999));
}
END_TEST

static int sent_in(struct smpp_rate *r, int64_t from, int64_t to, int64_t step)
{
    int n = 0;
    for (int64_t t = from; t < to; t += step)
        while (smpp_rate_take(r, t))
            n++;
    return n;
}

/* Answers over [from, to): every `step` ms one answer, `throttled_every`-th throttled (0: none). */
static bool answers(struct smpp_rate *r, int64_t from, int64_t to, int64_t step, int throttled_every)
{
    bool cut = false;
    int i = 0;
    for (int64_t t = from; t < to; t += step, i++)
        cut |= smpp_rate_answer(r, t, throttled_every && i % throttled_every == 0);
    return cut;
}

START_TEST(rate)
{
    struct smpp_rate r;
    smpp_rate_init(&r, 50, 0);
    int n = sent_in(&r, 0, 1000, 10);
    ck_assert_int_ge(n, 48);
    ck_assert_int_le(n, 52);
    /* 10% throttled: resubmitted, the rate holds. */
    ck_assert(!answers(&r, 1000, 4000, 20, 10));
    ck_assert(r.current == 50);
    /* Half throttled (the SMSC's own limit): cut by the share, once per second. */
    answers(&r, 4000, 5000, 20, 2);
    ck_assert(answers(&r, 5000, 5020, 20, 0));
    ck_assert(r.current > 24 && r.current < 26);
    n = sent_in(&r, 6000, 7000, 10);
    ck_assert_int_le(n, 27);
    /* Calm: it climbs back by a tenth of the configured rate a second, to 50 at most. */
    answers(&r, 7000, 20000, 20, 0);
    ck_assert(r.current == 50);
    /* Never below one a second. */
    for (int i = 0; i < 30; i++)
        answers(&r, 30000 + i * 1000, 31000 + i * 1000, 100, 1);
    ck_assert(r.current == 1);
}
END_TEST

START_TEST(rebase)
{
    char out[80];
    ck_assert_int_eq(smpp_id_rebase("1000000000", 10, 16, out, sizeof out), 0);
    ck_assert_str_eq(out, "3b9aca00");
    ck_assert_int_eq(smpp_id_rebase("3B9ACA00", 16, 10, out, sizeof out), 0);
    ck_assert_str_eq(out, "1000000000");
    ck_assert_int_eq(smpp_id_rebase("000", 10, 16, out, sizeof out), 0);
    ck_assert_str_eq(out, "0");
    /* Beyond 64 bits. */
    ck_assert_int_eq(smpp_id_rebase("123456789012345678901234567890", 10, 16, out, sizeof out), 0);
    ck_assert_str_eq(out, "18ee90ff6c373e0ee4e3f0ad2");
    ck_assert_int_eq(smpp_id_rebase("12a", 10, 16, out, sizeof out), -1);
    ck_assert_int_eq(smpp_id_rebase("", 10, 16, out, sizeof out), -1);
    ck_assert_int_eq(smpp_id_rebase("ffffffff", 16, 10, out, 5), -1);
}
END_TEST

START_TEST(ids_modes)
{
    enum smpp_id_mode mode;
    ck_assert_int_eq(smpp_id_mode_parse("hex-dec", &mode), 0);
    ck_assert_int_eq(mode, SMPP_ID_HEX_DEC);
    ck_assert_int_eq(smpp_id_mode_parse("bogus", &mode), -1);

    struct smpp_ids *x = smpp_ids_new(SMPP_ID_AUTO, 100);
    smpp_ids_add(x, "3B9ACA00");        /* hex with letters, upper case */
    smpp_ids_add(x, "0001234");         /* zero padded decimal */
    smpp_ids_add(x, "msg-7");           /* not a number */
    ck_assert_str_eq(smpp_ids_find(x, "3b9aca00"), "3B9ACA00");
    ck_assert_str_eq(smpp_ids_find(x, "1000000000"), "3B9ACA00");   /* decimal receipt */
    ck_assert_str_eq(smpp_ids_find(x, "1234"), "0001234");
    ck_assert_str_eq(smpp_ids_find(x, "msg-7"), "msg-7");
    ck_assert_ptr_null(smpp_ids_find(x, "MSG-7"));
    /* A receipt id with a hex letter is surely hex: its decimal form matches. */
    ck_assert_str_eq(smpp_ids_find(x, "4d2"), "0001234");
    /* A digits-only id is not tried as hex against a decimal one under auto. */
    smpp_ids_add(x, "16");
    ck_assert_ptr_null(smpp_ids_find(x, "10"));
    ck_assert_ptr_null(smpp_ids_find(x, ""));
    smpp_ids_free(x);

    x = smpp_ids_new(SMPP_ID_DEC_HEX, 100);
    smpp_ids_add(x, "1234");
    ck_assert_str_eq(smpp_ids_find(x, "4D2"), "1234");
    ck_assert_str_eq(smpp_ids_find(x, "000004d2"), "1234");
    smpp_ids_free(x);

    x = smpp_ids_new(SMPP_ID_HEX_DEC, 100);
    smpp_ids_add(x, "10");               /* hex 10 = decimal 16 */
    ck_assert_str_eq(smpp_ids_find(x, "16"), "10");
    ck_assert_ptr_null(smpp_ids_find(x, "10"));
    smpp_ids_free(x);

    x = smpp_ids_new(SMPP_ID_EXACT, 100);
    smpp_ids_add(x, "0012");
    ck_assert_str_eq(smpp_ids_find(x, "0012"), "0012");
    ck_assert_ptr_null(smpp_ids_find(x, "12"));
    smpp_ids_free(x);
}
END_TEST

START_TEST(ids_bounded)
{
    char id[32];
    struct smpp_ids *x = smpp_ids_new(SMPP_ID_DECIMAL, 1000);
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "%d", 1000000 + i);
        smpp_ids_add(x, id);
    }
    ck_assert_ptr_null(smpp_ids_find(x, "1000000"));  /* forgotten, oldest first */
    ck_assert_ptr_null(smpp_ids_find(x, "1003999"));
    ck_assert_str_eq(smpp_ids_find(x, "1004000"), "1004000");
    ck_assert_str_eq(smpp_ids_find(x, "01004999"), "1004999");
    smpp_ids_free(x);
}
END_TEST

START_TEST(ids_guess)
{
    char out[80];
    ck_assert_str_eq(smpp_ids_guess(SMPP_ID_HEX_DEC, "1000000000", out, sizeof out), "3b9aca00");
    ck_assert_str_eq(smpp_ids_guess(SMPP_ID_DEC_HEX, "3b9aca00", out, sizeof out), "1000000000");
    ck_assert_str_eq(smpp_ids_guess(SMPP_ID_AUTO, "0042", out, sizeof out), "0042");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("smpp");
    TCase *t = tcase_create("core");
    tcase_add_test(t, statuses);
    tcase_add_test(t, backoff);
    tcase_add_test(t, rate);
    tcase_add_test(t, rebase);
    tcase_add_test(t, ids_modes);
    tcase_add_test(t, ids_bounded);
    tcase_add_test(t, ids_guess);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
