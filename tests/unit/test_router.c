/* Route matching, the three strategies over a snapshot of driver health, and the rate limit. */
#include <stdint.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/router.h"
#include "tests/testutil.h"

START_TEST(first_matching_route_wins)
{
    struct conf_route routes[] = { { .match = "+44" }, { .match = "+353" }, { .match = "+" } };
    struct conf c = { .routes = routes, .n_routes = 3 };
    ck_assert_ptr_eq(router_match(&c, "+447700900123"), &routes[0]);
    ck_assert_ptr_eq(router_match(&c, "+353871234567"), &routes[1]);
    ck_assert_ptr_eq(router_match(&c, "+14155550100"), &routes[2]);
    c.n_routes = 2;
    ck_assert_ptr_null(router_match(&c, "+14155550100"));
}
END_TEST

START_TEST(failover_takes_the_first_that_can)
{
    struct router_member m[] = { { "m1", false, 2, 0 }, { "m2", true, 0, 2 }, { "m3", true, 1, 1 },
                                 { "m4", true, 2, 0 } };
    unsigned cursor = 0;
    ck_assert_int_eq(router_pick("failover", m, 4, &cursor), 2); /* m1 down, m2 full */
    m[0].up = true;
    ck_assert_int_eq(router_pick("failover", m, 4, &cursor), 0);
    ck_assert_int_eq(router_pick("failover", m, 0, &cursor), -1);
}
END_TEST

START_TEST(round_robin_rotates_over_those_that_can)
{
    struct router_member m[] = { { "a", true, 5, 0 }, { "b", false, 5, 0 }, { "c", true, 5, 0 } };
    unsigned cursor = 0;
    ck_assert_int_eq(router_pick("round-robin", m, 3, &cursor), 0);
    ck_assert_int_eq(router_pick("round-robin", m, 3, &cursor), 2);
    ck_assert_int_eq(router_pick("round-robin", m, 3, &cursor), 0);
    m[0].free_slots = 0;
    ck_assert_int_eq(router_pick("round-robin", m, 3, &cursor), 2);
    m[2].up = false;
    ck_assert_int_eq(router_pick("round-robin", m, 3, &cursor), -1);
}
END_TEST

START_TEST(least_busy_holds_the_fewest)
{
    struct router_member m[] = { { "a", true, 1, 3 }, { "b", true, 1, 1 }, { "c", true, 1, 1 },
                                 { "d", false, 1, 0 } };
    unsigned cursor = 0;
    ck_assert_int_eq(router_pick("least-busy", m, 4, &cursor), 1); /* ties: the first */
    m[1].free_slots = 0;
    ck_assert_int_eq(router_pick("least-busy", m, 4, &cursor), 2);
}
END_TEST

START_TEST(bucket_starts_full_then_refills_at_the_rate)
{
    struct router_bucket b = { 0 };
    int64_t t = 1700000000000;
    ck_assert_int_eq(router_bucket_room(&b, 5, t), 5);
    ck_assert_int_eq(router_bucket_wait_ms(&b, 5, t), 0);
    router_bucket_take(&b, 5, t, 5);
    ck_assert_int_eq(router_bucket_room(&b, 5, t), 0);
    ck_assert_int_eq(router_bucket_wait_ms(&b, 5, t), 200);
    ck_assert_int_eq(router_bucket_wait_ms(&b, 5, t + 150), 50);
    ck_assert_int_eq(router_bucket_room(&b, 5, t + 200), 1);
    ck_assert_int_eq(router_bucket_room(&b, 5, t + 599), 2);
    /* Never more than one second's worth, however long it was idle. */
    ck_assert_int_eq(router_bucket_room(&b, 5, t + 3600 * 1000), 5);
}
END_TEST

START_TEST(no_rate_is_no_limit)
{
    struct router_bucket b = { 0 };
    ck_assert_int_eq(router_bucket_room(&b, 0, 0), INT32_MAX);
    router_bucket_take(&b, 0, 0, 1000);
    ck_assert_int_eq(router_bucket_wait_ms(&b, 0, 0), 0);
    ck_assert_int_eq(router_bucket_room(&b, 0, 0), INT32_MAX);
}
END_TEST

START_TEST(long_message_goes_and_the_route_pays_it_back)
{
    struct router_bucket b = { 0 };
    /* 2 parts/s; a 5-part message may go on one token and leaves a debt of 3. */
    ck_assert_int_eq(router_bucket_wait_ms(&b, 2, 0), 0);
    router_bucket_take(&b, 2, 0, 5);
    ck_assert_int_eq(router_bucket_room(&b, 2, 0), 0);
    ck_assert_int_eq(router_bucket_wait_ms(&b, 2, 0), 2000); /* from -3 up to 1 */
    ck_assert_int_eq(router_bucket_room(&b, 2, 1999), 0);
    ck_assert_int_eq(router_bucket_room(&b, 2, 2000), 1);
}
END_TEST

START_TEST(a_sender_that_takes_whenever_it_may_keeps_to_the_rate)
{
    /* 7 parts/s for 20 s on a 10 ms tick: the first second's burst (7), then 7 a second. */
    struct router_bucket b = { 0 };
    int sent = 0;
    for (int64_t t = 0; t < 20000; t += 10) {
        while (router_bucket_wait_ms(&b, 7, t) == 0) {
            router_bucket_take(&b, 7, t, 1);
            sent++;
        }
    }
    ck_assert_int_ge(sent, 7 + 7 * 20 - 1);
    ck_assert_int_le(sent, 7 + 7 * 20);
}
END_TEST

START_TEST(a_clock_stepping_back_earns_nothing)
{
    struct router_bucket b = { 0 };
    router_bucket_take(&b, 1, 10000, 1);
    ck_assert_int_eq(router_bucket_room(&b, 1, 5000), 0);
    ck_assert_int_eq(router_bucket_wait_ms(&b, 1, 5000), 1000);
    ck_assert_int_eq(router_bucket_room(&b, 1, 6000), 1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("router");
    TCase *t = tcase_create("router");
    tcase_add_test(t, first_matching_route_wins);
    tcase_add_test(t, failover_takes_the_first_that_can);
    tcase_add_test(t, round_robin_rotates_over_those_that_can);
    tcase_add_test(t, least_busy_holds_the_fewest);
    tcase_add_test(t, bucket_starts_full_then_refills_at_the_rate);
    tcase_add_test(t, no_rate_is_no_limit);
    tcase_add_test(t, long_message_goes_and_the_route_pays_it_back);
    tcase_add_test(t, a_sender_that_takes_whenever_it_may_keeps_to_the_rate);
    tcase_add_test(t, a_clock_stepping_back_earns_nothing);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
