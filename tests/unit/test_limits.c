/* Quiet hours in the recipient's zone and the frequency cap, on a real database. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config/conf.h"
#include "gateway/store.h"
#include "scheduler/sched_limits.h"
#include "tests/testutil.h"

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                     .tm_min = mi };
    return (int64_t)timegm(&tm);
}

#define HM(h, m) ((h) * 60 + (m))

START_TEST(quiet_hours_wrapping_midnight)
{
    const struct sched_zone *dub = sched_tz_get("Europe/Dublin");
    int s = HM(21, 0), e = HM(8, 0);
    /* Winter: Dublin is on UTC. */
    ck_assert_int_eq(sched_quiet_until(dub, s, e, utc(2026, 1, 10, 12, 0)), 0);
    ck_assert_int_eq(sched_quiet_until(dub, s, e, utc(2026, 1, 10, 20, 59)), 0);
    ck_assert_int_eq(sched_quiet_until(dub, s, e, utc(2026, 1, 10, 21, 0)), utc(2026, 1, 11, 8, 0));
    ck_assert_int_eq(sched_quiet_until(dub, s, e, utc(2026, 1, 10, 23, 0)), utc(2026, 1, 11, 8, 0));
    ck_assert_int_eq(sched_quiet_until(dub, s, e, utc(2026, 1, 11, 3, 0)), utc(2026, 1, 11, 8, 0));
    ck_assert_int_eq(sched_quiet_until(dub, s, e, utc(2026, 1, 11, 8, 0)), 0);
    /* Summer: 23:00 IST is 22:00Z, the morning is 08:00 IST = 07:00Z. */
    ck_assert_int_eq(sched_quiet_until(dub, s, e, utc(2026, 7, 10, 22, 0)), utc(2026, 7, 11, 7, 0));
}
END_TEST

START_TEST(quiet_hours_within_a_day_and_none)
{
    const struct sched_zone *k = sched_tz_get("Asia/Kolkata");
    /* 13:00-14:00 IST: lunch. 13:30 IST is 08:00Z. */
    ck_assert_int_eq(sched_quiet_until(k, HM(13, 0), HM(14, 0), utc(2026, 6, 1, 8, 0)),
                     utc(2026, 6, 1, 8, 30));
    ck_assert_int_eq(sched_quiet_until(k, HM(13, 0), HM(14, 0), utc(2026, 6, 1, 9, 0)), 0);
    ck_assert_int_eq(sched_quiet_until(k, HM(8, 0), HM(8, 0), utc(2026, 6, 1, 2, 0)), 0);
}
END_TEST

/* The night the clocks change: the morning is 08:00 on the new clock. */
START_TEST(quiet_hours_end_across_daylight_saving)
{
    const struct sched_zone *ny = sched_tz_get("America/New_York");
    /* 23:00 EST on 2026-03-07 (04:00Z on the 8th); 08:00 EDT on the 8th is 12:00Z. */
    ck_assert_int_eq(sched_quiet_until(ny, HM(21, 0), HM(8, 0), utc(2026, 3, 8, 4, 0)),
                     utc(2026, 3, 8, 12, 0));
    /* 23:00 EDT on 2026-10-31 (03:00Z Nov 1); 08:00 EST on Nov 1 is 13:00Z. */
    ck_assert_int_eq(sched_quiet_until(ny, HM(21, 0), HM(8, 0), utc(2026, 11, 1, 3, 0)),
                     utc(2026, 11, 1, 13, 0));
    const struct sched_zone *syd = sched_tz_get("Australia/Sydney");
    /* 22:00 AEST on 2026-10-03 (12:00Z); 08:00 AEDT on the 4th is 21:00Z on the 3rd. */
    ck_assert_int_eq(sched_quiet_until(syd, HM(21, 0), HM(8, 0), utc(2026, 10, 3, 12, 0)),
                     utc(2026, 10, 3, 21, 0));
}
END_TEST

static struct store *open_store(void)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/limits.db", testutil_tmpdir());
    struct store *st = store_open(path, err, sizeof err);
    ck_assert_msg(st != NULL, "%s", err);
    return st;
}

/* A finished enrollment for the message to belong to (foreign keys are on). */
static int64_t enrollment(struct store *st, const char *to, const char *campaign)
{
    char sql[512], *err = NULL;
    snprintf(sql, sizeof sql,
             "INSERT OR IGNORE INTO contacts (recipient, created_at, updated_at) VALUES ('%s', 0, 0);"
             "INSERT INTO enrollments (recipient, campaign, state, created_at, updated_at) "
             "VALUES ('%s', '%s', 'completed', 0, 0)", to, to, campaign);
    ck_assert_msg(sqlite3_exec(store_handle(st), sql, NULL, NULL, &err) == SQLITE_OK, "%s", err);
    return sqlite3_last_insert_rowid(store_handle(st));
}

static int64_t campaign_msg(struct store *st, const char *to, const char *campaign, int64_t at)
{
    struct store_new_message m = { .to = to, .body = "hi", .encoding = "gsm7", .segments = 1,
                                   .source = campaign ? "campaign" : "cli",
                                   .expires_at = at + 86400, .campaign = campaign,
                                   .enrollment_id = campaign ? enrollment(st, to, campaign) : 0 };
    int64_t id;
    char err[256];
    ck_assert_int_eq(store_enqueue(st, &m, at, &id, err, sizeof err), STORE_OK);
    return id;
}

START_TEST(frequency_cap_counts_campaign_messages_in_the_window)
{
    struct store *st = open_store();
    struct sched_cap *cap = sched_cap_new(store_handle(st));
    ck_assert_ptr_nonnull(cap);
    int64_t day = 86400, t0 = utc(2026, 5, 1, 10, 0);
    const char *to = "+353871234567";
    ck_assert_int_eq(sched_cap_until(cap, to, 2, 7 * day, t0), 0);
    campaign_msg(st, to, "winback", t0);
    campaign_msg(st, to, NULL, t0 + 60);          /* not a campaign message: not counted */
    campaign_msg(st, "+353870000000", "winback", t0); /* someone else */
    ck_assert_int_eq(sched_cap_until(cap, to, 2, 7 * day, t0 + day), 0);
    campaign_msg(st, to, "reactivate", t0 + day);
    /* Two within 7 days: the next may go when the first leaves the window. */
    ck_assert_int_eq(sched_cap_until(cap, to, 2, 7 * day, t0 + 2 * day), t0 + 7 * day);
    ck_assert_int_eq(sched_cap_until(cap, to, 2, 7 * day, t0 + 7 * day), 0);
    ck_assert_int_eq(sched_cap_until(cap, to, 0, 7 * day, t0 + 2 * day), 0);
    ck_assert_int_eq(sched_cap_until(cap, to, 1, 7 * day, t0 + 2 * day), t0 + 8 * day);
    sched_cap_free(cap);
    store_close(st);
}
END_TEST

START_TEST(frequency_cap_ignores_suppressed_messages)
{
    struct store *st = open_store();
    struct sched_cap *cap = sched_cap_new(store_handle(st));
    int64_t t0 = utc(2026, 5, 1, 10, 0);
    char err[256];
    int64_t id = campaign_msg(st, "+353871234567", "winback", t0);
    ck_assert_int_eq(sched_cap_until(cap, "+353871234567", 1, 86400, t0 + 10), t0 + 86400);
    ck_assert_int_eq(store_suppress(st, id, "opted out", t0 + 5, err, sizeof err), STORE_OK);
    ck_assert_int_eq(sched_cap_until(cap, "+353871234567", 1, 86400, t0 + 10), 0);
    sched_cap_free(cap);
    store_close(st);
}
END_TEST

START_TEST(dispatch_quiet_hours_use_the_contact_zone)
{
    struct store *st = open_store();
    char *err = NULL;
    ck_assert_int_eq(sqlite3_exec(store_handle(st),
                                  "INSERT INTO contacts (recipient, timezone, created_at, updated_at) "
                                  "VALUES ('+353871111111', 'Asia/Tokyo', 0, 0)", NULL, NULL, &err),
                     SQLITE_OK);
    struct conf_campaign camp = { .name = "lunch", .quiet_hours = { HM(12, 0), HM(13, 0) } };
    struct conf conf = { .quiet_hours = { HM(21, 0), HM(8, 0) }, .campaigns = &camp,
                         .n_campaigns = 1 };
    conf.defaults.timezone = "America/New_York";
    /* 14:00Z is 23:00 in Tokyo: quiet until 08:00 JST, 23:00Z. */
    int64_t t = utc(2026, 6, 1, 14, 0);
    ck_assert_int_eq(sched_dispatch_quiet_until(st, &conf, "+353871111111", "winback", t),
                     utc(2026, 6, 1, 23, 0));
    /* The campaign's own hours: 03:30Z is 12:30 JST. */
    ck_assert_int_eq(sched_dispatch_quiet_until(st, &conf, "+353871111111", "lunch",
                                                utc(2026, 6, 1, 3, 30)), utc(2026, 6, 1, 4, 0));
    /* No contact: the country's zone (+44, London on BST: 22:00 local at 21:00Z). */
    ck_assert_int_eq(sched_dispatch_quiet_until(st, &conf, "+447700900123", "winback",
                                                utc(2026, 6, 1, 21, 0)), utc(2026, 6, 2, 7, 0));
    /* A country of many zones: defaults.timezone (New York, 16:00 EDT at 20:00Z: not quiet). */
    ck_assert_int_eq(sched_dispatch_quiet_until(st, &conf, "+14155550100", "winback",
                                                utc(2026, 6, 1, 20, 0)), 0);
    store_close(st);
    sched_tz_cache_free();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("limits");
    TCase *t = tcase_create("limits");
    tcase_add_test(t, quiet_hours_wrapping_midnight);
    tcase_add_test(t, quiet_hours_within_a_day_and_none);
    tcase_add_test(t, quiet_hours_end_across_daylight_saving);
    tcase_add_test(t, frequency_cap_counts_campaign_messages_in_the_window);
    tcase_add_test(t, frequency_cap_ignores_suppressed_messages);
    tcase_add_test(t, dispatch_quiet_hours_use_the_contact_zone);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
