/* E.164 normalisation of what people type, and the readings of digits without + or 00. */
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

static char last_why[400];
static enum phone_result last_result;

/* The E.164 number, or NULL with last_result and last_why set. */
static const char *read_as(const char *input, const char *country, enum phone_reading reading)
{
    static char out[PHONE_E164_MAX];
    last_why[0] = '\0';
    last_result = phone_read(input, country, reading, out, last_why, sizeof last_why);
    return last_result == PHONE_OK ? out : NULL;
}

#define REFUSED(input, country, reading, want_result, says)                                  \
    do {                                                                                     \
        ck_assert_ptr_null(read_as(input, country, reading));                                \
        ck_assert_int_eq(last_result, want_result);                                          \
        ck_assert_msg(strstr(last_why, says), "%s: '%s' does not say '%s'", input, last_why, \
                      says);                                                                 \
    } while (0)

static const enum phone_reading every_reading[] = {
    PHONE_READ_NATIONAL, PHONE_READ_INTERNATIONAL, PHONE_READ_AUTO,
};

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
    ck_assert(phone_country_known("KZ"));
    ck_assert(phone_country_known("tw"));
    ck_assert(!phone_country_known("XX"));
    ck_assert(!phone_country_known("IRL"));
    ck_assert(!phone_country_known(""));
}
END_TEST

START_TEST(plus_and_00_are_international_under_every_reading)
{
    for (size_t i = 0; i < sizeof every_reading / sizeof every_reading[0]; i++) {
        ck_assert_str_eq(read_as("+46 70 123 45 67", "SE", every_reading[i]), "+46701234567");
        ck_assert_str_eq(read_as("0046701234567", "SE", every_reading[i]), "+46701234567");
        ck_assert_str_eq(read_as("+491234567", "SE", every_reading[i]), "+491234567");
        ck_assert_str_eq(read_as("011 44 7700 900123", "US", every_reading[i]), "+447700900123");
    }
}
END_TEST

START_TEST(national_reading_is_phone_normalize)
{
    ck_assert_str_eq(read_as("070-123 45 67", "SE", PHONE_READ_NATIONAL), "+46701234567");
    ck_assert_str_eq(read_as("701234567", "SE", PHONE_READ_NATIONAL), "+46701234567");
    ck_assert_str_eq(read_as("491234567", "SE", PHONE_READ_NATIONAL), "+46491234567");
    REFUSED("46701234567", "SE", PHONE_READ_NATIONAL, PHONE_INVALID,
            "'46701234567' has 11 digits after the trunk prefix; numbers in SE have 7 to 9");
}
END_TEST

START_TEST(international_reading_wants_a_known_plan_that_fits)
{
    ck_assert_str_eq(read_as("46701234567", "SE", PHONE_READ_INTERNATIONAL), "+46701234567");
    ck_assert_str_eq(read_as("447700900123", "SE", PHONE_READ_INTERNATIONAL), "+447700900123");
    ck_assert_str_eq(read_as("14155550100", "SE", PHONE_READ_INTERNATIONAL), "+14155550100");
    ck_assert_str_eq(read_as("491234567", "SE", PHONE_READ_INTERNATIONAL), "+491234567");
    REFUSED("0701234567", "SE", PHONE_READ_INTERNATIONAL, PHONE_INVALID,
            "'0701234567' read as international does not start with a country calling code");
    REFUSED("4670123", "SE", PHONE_READ_INTERNATIONAL, PHONE_INVALID,
            "is +46 70123, 5 digits after the country code; numbers in SE have 7 to 9");
    /* +242 is assigned, but without a "+" homing does not guess a length. */
    REFUSED("2421234567", "SE", PHONE_READ_INTERNATIONAL, PHONE_INVALID,
            "starts with +242, whose numbering plan homing does not know");
    ck_assert_str_eq(read_as("+2421234567", "SE", PHONE_READ_INTERNATIONAL), "+2421234567");
}
END_TEST

START_TEST(auto_reading_takes_the_one_valid_reading)
{
    ck_assert_str_eq(read_as("46701234567", "SE", PHONE_READ_AUTO), "+46701234567");
    ck_assert_str_eq(read_as("0701234567", "SE", PHONE_READ_AUTO), "+46701234567");
    ck_assert_str_eq(read_as("701234567", "SE", PHONE_READ_AUTO), "+46701234567");
    ck_assert_str_eq(read_as("353871234567", "IE", PHONE_READ_AUTO), "+353871234567");
    ck_assert_str_eq(read_as("087 123 4567", "IE", PHONE_READ_AUTO), "+353871234567");
    ck_assert_str_eq(read_as("79161234567", "RU", PHONE_READ_AUTO), "+79161234567");
    /* NANP's trunk prefix is its calling code: both readings are the same number. */
    ck_assert_str_eq(read_as("14155550100", "US", PHONE_READ_AUTO), "+14155550100");
    ck_assert_str_eq(read_as("14165550100", "CA", PHONE_READ_AUTO), "+14165550100");
}
END_TEST

START_TEST(auto_reading_refuses_two_valid_readings_naming_both)
{
    /* An unprefixed national number whose digits start with a code and fit its plan. */
    REFUSED("491234567", "SE", PHONE_READ_AUTO, PHONE_AMBIGUOUS,
            "'491234567' is ambiguous: national in SE it is +46491234567, international it is "
            "+491234567 (DE); write it with + or 00");
    /* DE's long national numbers fit most numbers written with 49 first. */
    REFUSED("4915112345678", "DE", PHONE_READ_AUTO, PHONE_AMBIGUOUS,
            "national in DE it is +494915112345678, international it is +4915112345678 (DE)");
    /* A trunk prefix other than 0 can start a calling code: RU's 8 and VN's 84. */
    REFUSED("8 495 123-45-67", "RU", PHONE_READ_AUTO, PHONE_AMBIGUOUS,
            "national in RU it is +74951234567, international it is +84951234567 (VN); "
            "write it with + or 810");
}
END_TEST

START_TEST(auto_reading_with_no_valid_reading_gives_both_reasons)
{
    REFUSED("12345", "SE", PHONE_READ_AUTO, PHONE_INVALID,
            "'12345' has 5 digits after the trunk prefix; numbers in SE have 7 to 9");
    REFUSED("12345", "SE", PHONE_READ_AUTO, PHONE_INVALID,
            "; read as international it is +1 2345, 4 digits after the country code; numbers in "
            "US have 10 to 10");
    REFUSED("0012", "SE", PHONE_READ_AUTO, PHONE_INVALID,
            "read as international it does not start with a country calling code");
    REFUSED("46 70 12a", "SE", PHONE_READ_AUTO, PHONE_INVALID, "unexpected 'a' at position 9");
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
    TCase *r = tcase_create("readings");
    tcase_add_test(r, plus_and_00_are_international_under_every_reading);
    tcase_add_test(r, national_reading_is_phone_normalize);
    tcase_add_test(r, international_reading_wants_a_known_plan_that_fits);
    tcase_add_test(r, auto_reading_takes_the_one_valid_reading);
    tcase_add_test(r, auto_reading_refuses_two_valid_readings_naming_both);
    tcase_add_test(r, auto_reading_with_no_valid_reading_gives_both_reasons);
    suite_add_tcase(s, r);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
