/* E.164 normalisation of what people type. */
#include <string.h>

#include "gateway/phone.h"
#include "tests/testutil.h"

static const char *norm(const char *input, const char *country)
{
    static char out[PHONE_E164_MAX];
    char why[256];
    return phone_normalize(input, country, out, why, sizeof why) ? out : NULL;
}

static const char *why_not(const char *input, const char *country)
{
    static char why[256];
    char out[PHONE_E164_MAX];
    return phone_normalize(input, country, out, why, sizeof why) ? NULL : why;
}

START_TEST(irish_numbers)
{
    ck_assert_str_eq(norm("087 123 4567", "IE"), "+353871234567");
    ck_assert_str_eq(norm("0871234567", "IE"), "+353871234567");
    ck_assert_str_eq(norm("+353 87 123 4567", "IE"), "+353871234567");
    ck_assert_str_eq(norm("00353871234567", "IE"), "+353871234567");
    ck_assert_str_eq(norm("(01) 234-5678", "IE"), "+35312345678");
    ck_assert_str_eq(norm("871234567", "ie"), "+353871234567");
}
END_TEST

START_TEST(other_countries)
{
    ck_assert_str_eq(norm("07700 900123", "GB"), "+447700900123");
    ck_assert_str_eq(norm("(415) 555-0100", "US"), "+14155550100");
    ck_assert_str_eq(norm("1 415 555 0100", "US"), "+14155550100");
    ck_assert_str_eq(norm("011 44 7700 900123", "US"), "+447700900123");
    ck_assert_str_eq(norm("06 12 34 56 78", "FR"), "+33612345678");
    ck_assert_str_eq(norm("612 345 678", "ES"), "+34612345678");
    /* International numbers do not depend on the default country. */
    ck_assert_str_eq(norm("+49 151 23456789", "IE"), "+4915123456789");
}
END_TEST

START_TEST(invalid_numbers_say_why)
{
    ck_assert_ptr_nonnull(strstr(why_not("087 12a 4567", "IE"), "unexpected 'a' at position 7"));
    ck_assert_ptr_nonnull(strstr(why_not("", "IE"), "has no digits"));
    ck_assert_ptr_nonnull(strstr(why_not("+", "IE"), "has no digits"));
    ck_assert_ptr_nonnull(strstr(why_not("087 123", "IE"), "numbers in IE have 7 to 9"));
    ck_assert_ptr_nonnull(strstr(why_not("+2101234567", "IE"), "assigned country calling code"));
    ck_assert_ptr_nonnull(strstr(why_not("+3538712345678901", "IE"), "to 15"));
    ck_assert_ptr_nonnull(strstr(why_not("0871234567", "XX"), "country 'XX' is unknown"));
    ck_assert_ptr_nonnull(strstr(why_not("+35+3871234567", "IE"), "unexpected '+'"));
}
END_TEST

START_TEST(known_countries)
{
    ck_assert(phone_country_known("IE"));
    ck_assert(phone_country_known("us"));
    ck_assert(!phone_country_known("XX"));
    ck_assert(!phone_country_known("IRL"));
    ck_assert(!phone_country_known(""));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("phone");
    TCase *t = tcase_create("normalize");
    tcase_add_test(t, irish_numbers);
    tcase_add_test(t, other_countries);
    tcase_add_test(t, invalid_numbers_say_why);
    tcase_add_test(t, known_countries);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
