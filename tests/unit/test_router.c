/* Route matching and the three strategies, over a snapshot of driver health. */
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

static Suite *suite(void)
{
    Suite *s = suite_create("router");
    TCase *t = tcase_create("router");
    tcase_add_test(t, first_matching_route_wins);
    tcase_add_test(t, failover_takes_the_first_that_can);
    tcase_add_test(t, round_robin_rotates_over_those_that_can);
    tcase_add_test(t, least_busy_holds_the_fewest);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
