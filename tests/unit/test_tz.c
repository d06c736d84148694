/* Local time in real IANA zones, across daylight-saving changes. */
#include <string.h>
#include <time.h>

#include "scheduler/sched_tz.h"
#include "tests/testutil.h"

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                     .tm_min = mi };
    return (int64_t)timegm(&tm);
}

static const struct sched_zone *zone(const char *name)
{
    const struct sched_zone *z = sched_tz_get(name);
    ck_assert_msg(z != NULL, "zone %s not found", name);
    return z;
}

START_TEST(dublin_offsets_and_transitions)
{
    const struct sched_zone *z = zone("Europe/Dublin");
    ck_assert_int_eq(sched_tz_offset(z, utc(2026, 1, 15, 12, 0)), 0);
    ck_assert_int_eq(sched_tz_offset(z, utc(2026, 7, 1, 12, 0)), 3600);
    /* Spring forward 2026-03-29 01:00Z, fall back 2026-10-25 01:00Z. */
    ck_assert_int_eq(sched_tz_offset(z, utc(2026, 3, 29, 1, 0) - 1), 0);
    ck_assert_int_eq(sched_tz_offset(z, utc(2026, 3, 29, 1, 0)), 3600);
    ck_assert_int_eq(sched_tz_offset(z, utc(2026, 10, 25, 1, 0) - 1), 3600);
    ck_assert_int_eq(sched_tz_offset(z, utc(2026, 10, 25, 1, 0)), 0);
    ck_assert_str_eq(sched_tz_name(z), "Europe/Dublin");
}
END_TEST

/* After the file's last transition the footer's rule decides (Dublin's DST is "negative"). */
START_TEST(far_future_follows_the_footer_rule)
{
    ck_assert_int_eq(sched_tz_offset(zone("Europe/Dublin"), utc(2050, 7, 1, 12, 0)), 3600);
    ck_assert_int_eq(sched_tz_offset(zone("Europe/Dublin"), utc(2050, 12, 1, 12, 0)), 0);
    ck_assert_int_eq(sched_tz_offset(zone("America/New_York"), utc(2050, 7, 1, 12, 0)), -14400);
    ck_assert_int_eq(sched_tz_offset(zone("America/New_York"), utc(2050, 1, 1, 12, 0)), -18000);
    ck_assert_int_eq(sched_tz_offset(zone("Australia/Sydney"), utc(2050, 1, 1, 12, 0)), 39600);
    ck_assert_int_eq(sched_tz_offset(zone("Australia/Sydney"), utc(2050, 7, 1, 12, 0)), 36000);
    /* 2050-03-13 is New York's second Sunday of March: 07:00Z is the change. */
    ck_assert_int_eq(sched_tz_offset(zone("America/New_York"), utc(2050, 3, 13, 7, 0) - 1), -18000);
    ck_assert_int_eq(sched_tz_offset(zone("America/New_York"), utc(2050, 3, 13, 7, 0)), -14400);
}
END_TEST

START_TEST(local_date_and_time)
{
    struct sched_local l;
    sched_tz_local(zone("Asia/Kolkata"), utc(2026, 5, 31, 20, 0), &l);
    ck_assert_int_eq(l.year, 2026);
    ck_assert_int_eq(l.month, 6);
    ck_assert_int_eq(l.day, 1);
    ck_assert_int_eq(l.hour, 1);
    ck_assert_int_eq(l.minute, 30);
    ck_assert_int_eq(l.offset, 19800);
    sched_tz_local(zone("America/New_York"), utc(2027, 1, 1, 3, 15), &l);
    ck_assert_int_eq(l.year, 2026);
    ck_assert_int_eq(l.month, 12);
    ck_assert_int_eq(l.day, 31);
    ck_assert_int_eq(l.hour, 22);
    ck_assert_int_eq(l.minute, 15);
}
END_TEST

START_TEST(next_wall_on_ordinary_days)
{
    const struct sched_zone *k = zone("Asia/Kolkata");
    /* 08:00 IST is 02:30Z: same day when before, next day when past. */
    ck_assert_int_eq(sched_tz_next_wall(k, utc(2026, 6, 1, 0, 0), 8 * 60), utc(2026, 6, 1, 2, 30));
    ck_assert_int_eq(sched_tz_next_wall(k, utc(2026, 6, 1, 2, 30), 8 * 60), utc(2026, 6, 1, 2, 30));
    ck_assert_int_eq(sched_tz_next_wall(k, utc(2026, 6, 1, 2, 31), 8 * 60), utc(2026, 6, 2, 2, 30));
    /* 23:00 local, the evening before, across midnight UTC. */
    ck_assert_int_eq(sched_tz_next_wall(zone("America/New_York"), utc(2026, 6, 1, 12, 0), 23 * 60),
                     utc(2026, 6, 2, 3, 0));
}
END_TEST

START_TEST(next_wall_in_a_gap_is_the_first_valid_instant_after)
{
    const struct sched_zone *ny = zone("America/New_York");
    /* 2026-03-08: 02:00 EST jumps to 03:00 EDT at 07:00Z; 02:30 does not exist. */
    ck_assert_int_eq(sched_tz_next_wall(ny, utc(2026, 3, 8, 5, 0), 2 * 60 + 30), utc(2026, 3, 8, 7, 0));
    /* The morning after the change is 08:00 EDT (12:00Z), not 08:00 EST. */
    ck_assert_int_eq(sched_tz_next_wall(ny, utc(2026, 3, 8, 5, 0), 8 * 60), utc(2026, 3, 8, 12, 0));
    /* Sydney 2026-10-04: 02:00 AEST -> 03:00 AEDT (16:00Z the day before). */
    const struct sched_zone *syd = zone("Australia/Sydney");
    ck_assert_int_eq(sched_tz_next_wall(syd, utc(2026, 10, 3, 14, 0), 2 * 60 + 15), utc(2026, 10, 3, 16, 0));
    ck_assert_int_eq(sched_tz_next_wall(syd, utc(2026, 10, 3, 14, 0), 8 * 60), utc(2026, 10, 3, 21, 0));
    /* Dublin 2026-03-29: 01:00 GMT -> 02:00 IST. */
    const struct sched_zone *dub = zone("Europe/Dublin");
    ck_assert_int_eq(sched_tz_next_wall(dub, utc(2026, 3, 28, 23, 0), 60 + 30), utc(2026, 3, 29, 1, 0));
    ck_assert_int_eq(sched_tz_next_wall(dub, utc(2026, 3, 28, 23, 0), 8 * 60), utc(2026, 3, 29, 7, 0));
}
END_TEST

START_TEST(next_wall_in_an_overlap_happens_once)
{
    const struct sched_zone *ny = zone("America/New_York");
    /* 2026-11-01: 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST). */
    ck_assert_int_eq(sched_tz_next_wall(ny, utc(2026, 11, 1, 4, 0), 90), utc(2026, 11, 1, 5, 30));
    /* Past the first, the second is not taken: the next is the following day's. */
    ck_assert_int_eq(sched_tz_next_wall(ny, utc(2026, 11, 1, 5, 31), 90), utc(2026, 11, 2, 6, 30));
    /* Sydney 2026-04-05: 03:00 AEDT -> 02:00 AEST at 16:00Z on the 4th; 02:30 twice. */
    const struct sched_zone *syd = zone("Australia/Sydney");
    ck_assert_int_eq(sched_tz_next_wall(syd, utc(2026, 4, 4, 14, 0), 150), utc(2026, 4, 4, 15, 30));
    ck_assert_int_eq(sched_tz_next_wall(syd, utc(2026, 4, 4, 16, 0), 150), utc(2026, 4, 5, 16, 30));
}
END_TEST

START_TEST(country_zones)
{
    ck_assert_str_eq(sched_tz_for_number("+353871234567"), "Europe/Dublin");
    ck_assert_str_eq(sched_tz_for_number("+447700900123"), "Europe/London");
    ck_assert_str_eq(sched_tz_for_number("+33612345678"), "Europe/Paris");
    ck_assert_str_eq(sched_tz_for_number("+919876543210"), "Asia/Kolkata");
    ck_assert_str_eq(sched_tz_for_number("+81312345678"), "Asia/Tokyo");
    ck_assert_ptr_null(sched_tz_for_number("+14155550100"));
    ck_assert_ptr_null(sched_tz_for_number("+74951234567"));
    ck_assert_ptr_null(sched_tz_for_number("+5511912345678"));
    ck_assert_ptr_null(sched_tz_for_number("+61412345678"));
    ck_assert_ptr_null(sched_tz_for_number("0871234567"));
}
END_TEST

START_TEST(recipient_zone_order)
{
    ck_assert_str_eq(sched_tz_name(sched_tz_recipient("Asia/Tokyo", "+353871234567", "UTC")),
                     "Asia/Tokyo");
    ck_assert_str_eq(sched_tz_name(sched_tz_recipient(NULL, "+353871234567", "Asia/Tokyo")),
                     "Europe/Dublin");
    ck_assert_str_eq(sched_tz_name(sched_tz_recipient("Mars/Olympus", "+447700900123", "UTC")),
                     "Europe/London");
    ck_assert_str_eq(sched_tz_name(sched_tz_recipient("", "+14155550100", "America/Chicago")),
                     "America/Chicago");
    ck_assert_str_eq(sched_tz_name(sched_tz_recipient(NULL, "+14155550100", "Nowhere/At_All")),
                     "UTC");
    ck_assert_ptr_null(sched_tz_get("../../etc/passwd"));
    ck_assert_ptr_null(sched_tz_get("Europe/Atlantis"));
    ck_assert_ptr_null(sched_tz_get("Europe/Atlantis")); /* the miss is cached too */
}
END_TEST

/* Thousands of recipients in many zones per tick: a lookup must cost next to nothing. */
START_TEST(lookups_are_cheap)
{
    const char *names[] = { "Europe/Dublin", "America/New_York", "Australia/Sydney",
                            "Asia/Kolkata", "Europe/Berlin", "America/Los_Angeles" };
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int64_t sum = 0;
    for (int i = 0; i < 300000; i++) {
        const struct sched_zone *z = sched_tz_get(names[i % 6]);
        sum += sched_tz_next_wall(z, utc(2026, 1, 1, 0, 0) + (int64_t)i * 600, 8 * 60) & 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    ck_assert_msg(s < 2.0, "300,000 next-wall lookups took %.2f s", s);
    ck_assert_int_ge(sum, 0);
    sched_tz_cache_free();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tz");
    TCase *t = tcase_create("zones");
    tcase_add_test(t, dublin_offsets_and_transitions);
    tcase_add_test(t, far_future_follows_the_footer_rule);
    tcase_add_test(t, local_date_and_time);
    tcase_add_test(t, next_wall_on_ordinary_days);
    tcase_add_test(t, next_wall_in_a_gap_is_the_first_valid_instant_after);
    tcase_add_test(t, next_wall_in_an_overlap_happens_once);
    tcase_add_test(t, country_zones);
    tcase_add_test(t, recipient_zone_order);
    tcase_add_test(t, lookups_are_cheap);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
