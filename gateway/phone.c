/*
 * phone: E.164 normalisation from a small numbering-plan table.
 *
 * We do not try to be libphonenumber: for each country we keep its calling
 * code, trunk prefix, international prefix and the length range of its
 * national significant numbers, which catches the typing errors that matter
 * (a digit missing, a letter, a wrong country) without a 10 MB database.
 * Numbers given with "+" are checked against the list of assigned calling
 * codes (ITU-T E.164 assignments), which are prefix-free.
 */
#include "gateway/phone.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

struct numbering_plan {
    const char *iso2;
    const char *cc;       /* calling code, digits */
    const char *trunk;    /* national trunk prefix, "" if none */
    const char *intl;     /* international call prefix */
    int nsn_min, nsn_max; /* national significant number length */
};

static const struct numbering_plan plans[] = {
    { "IE", "353", "0", "00", 7, 9 },   { "GB", "44", "0", "00", 9, 10 },
    { "US", "1", "1", "011", 10, 10 },  { "CA", "1", "1", "011", 10, 10 },
    { "FR", "33", "0", "00", 9, 9 },    { "DE", "49", "0", "00", 6, 13 },
    { "ES", "34", "", "00", 9, 9 },     { "IT", "39", "", "00", 6, 11 },
    { "PT", "351", "", "00", 9, 9 },    { "NL", "31", "0", "00", 9, 9 },
    { "BE", "32", "0", "00", 8, 9 },    { "LU", "352", "", "00", 4, 11 },
    { "CH", "41", "0", "00", 9, 9 },    { "AT", "43", "0", "00", 4, 13 },
    { "DK", "45", "", "00", 8, 8 },     { "SE", "46", "0", "00", 7, 9 },
    { "NO", "47", "", "00", 8, 8 },     { "FI", "358", "0", "00", 5, 12 },
    { "IS", "354", "", "00", 7, 9 },    { "PL", "48", "", "00", 9, 9 },
    { "CZ", "420", "", "00", 9, 9 },    { "SK", "421", "0", "00", 9, 9 },
    { "HU", "36", "06", "00", 8, 9 },   { "RO", "40", "0", "00", 9, 9 },
    { "BG", "359", "0", "00", 8, 9 },   { "GR", "30", "", "00", 10, 10 },
    { "HR", "385", "0", "00", 8, 9 },   { "SI", "386", "0", "00", 8, 8 },
    { "RS", "381", "0", "00", 8, 9 },   { "EE", "372", "", "00", 7, 8 },
    { "LV", "371", "", "00", 8, 8 },    { "LT", "370", "8", "00", 8, 8 },
    { "MT", "356", "", "00", 8, 8 },    { "CY", "357", "", "00", 8, 8 },
    { "UA", "380", "0", "00", 9, 9 },   { "TR", "90", "0", "00", 10, 10 },
    { "RU", "7", "8", "810", 10, 10 },  { "IL", "972", "0", "00", 8, 9 },
    { "AE", "971", "0", "00", 8, 9 },   { "SA", "966", "0", "00", 8, 9 },
    { "EG", "20", "0", "00", 8, 10 },   { "ZA", "27", "0", "00", 9, 9 },
    { "NG", "234", "0", "009", 8, 10 }, { "KE", "254", "0", "000", 9, 9 },
    { "MA", "212", "0", "00", 9, 9 },   { "IN", "91", "0", "00", 10, 10 },
    { "PK", "92", "0", "00", 9, 10 },   { "BD", "880", "0", "00", 8, 10 },
    { "CN", "86", "0", "00", 8, 11 },   { "HK", "852", "", "001", 8, 8 },
    { "JP", "81", "0", "010", 9, 10 },  { "KR", "82", "0", "001", 8, 10 },
    { "SG", "65", "", "000", 8, 8 },    { "MY", "60", "0", "00", 8, 10 },
    { "TH", "66", "0", "001", 8, 9 },   { "VN", "84", "0", "00", 9, 10 },
    { "PH", "63", "0", "00", 8, 10 },   { "ID", "62", "0", "001", 8, 12 },
    { "AU", "61", "0", "0011", 9, 9 },  { "NZ", "64", "0", "00", 8, 10 },
    { "MX", "52", "", "00", 10, 10 },   { "BR", "55", "0", "00", 10, 11 },
    { "AR", "54", "0", "00", 10, 11 },  { "CL", "56", "", "00", 9, 9 },
    { "CO", "57", "", "00", 8, 10 },    { "PE", "51", "0", "00", 8, 9 },
};

/* Assigned calling codes (ITU-T E.164), by length. Country codes are prefix-free. */
static const char *const codes1 = " 1 7 ";
static const char *const codes2 =
    " 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58"
    " 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98 ";
static const char *const codes3 =
    " 211 212 213 216 218 220 221 222 223 224 225 226 227 228 229 230 231 232 233 234"
    " 235 236 237 238 239 240 241 242 243 244 245 246 247 248 249 250 251 252 253 254"
    " 255 256 257 258 260 261 262 263 264 265 266 267 268 269 290 291 297 298 299 350"
    " 351 352 353 354 355 356 357 358 359 370 371 372 373 374 375 376 377 378 379 380"
    " 381 382 383 385 386 387 389 420 421 423 500 501 502 503 504 505 506 507 508 509"
    " 590 591 592 593 594 595 596 597 598 599 670 672 673 674 675 676 677 678 679 680"
    " 681 682 683 685 686 687 688 689 690 691 692 800 808 850 852 853 855 856 870 878"
    " 880 881 882 883 886 888 960 961 962 963 964 965 966 967 968 970 971 972 973 974"
    " 975 976 977 979 992 993 994 995 996 997 998 ";

static const struct numbering_plan *plan_for(const char *iso2)
{
    if (!iso2 || strlen(iso2) != 2)
        return NULL;
    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++)
        if (toupper((unsigned char)iso2[0]) == plans[i].iso2[0] &&
            toupper((unsigned char)iso2[1]) == plans[i].iso2[1])
            return &plans[i];
    return NULL;
}

bool phone_country_known(const char *iso2)
{
    return plan_for(iso2) != NULL;
}

/* Length of the assigned calling code that starts `digits`, or 0. */
static size_t calling_code_length(const char *digits)
{
    const char *lists[] = { codes1, codes2, codes3 };
    for (size_t len = 1; len <= 3; len++) {
        char probe[6] = " ";
        if (strlen(digits) < len)
            return 0;
        memcpy(probe + 1, digits, len);
        probe[len + 1] = ' ';
        probe[len + 2] = '\0';
        if (strstr(lists[len - 1], probe))
            return len;
    }
    return 0;
}

/* Keeps digits and a leading '+'; rejects anything but separators people type. */
static bool strip_separators(const char *in, char *out, size_t size, char *why, size_t why_size)
{
    size_t n = 0;
    for (size_t i = 0; in[i]; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '+' && n == 0) {
            out[n++] = '+';
        } else if (isdigit(c)) {
            out[n++] = (char)c;
        } else if (!(c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/')) {
            snprintf(why, why_size, "'%s' is not a phone number: unexpected '%c' at position %zu",
                     in, isprint(c) ? c : '?', i + 1);
            return false;
        }
        if (n + 1 >= size) {
            snprintf(why, why_size, "'%s' is too long for a phone number", in);
            return false;
        }
    }
    out[n] = '\0';
    return true;
}

static bool finish_international(const char *digits, const char *input,
                                 char out[PHONE_E164_MAX], char *why, size_t why_size)
{
    size_t len = strlen(digits);
    size_t cc = calling_code_length(digits);
    if (cc == 0) {
        snprintf(why, why_size, "'%s' does not start with an assigned country calling code", input);
        return false;
    }
    if (len > 15 || len - cc < 4) {
        snprintf(why, why_size, "'%s' has %zu digits; an international number has %zu to 15",
                 input, len, cc + 4);
        return false;
    }
    snprintf(out, PHONE_E164_MAX, "+%s", digits);
    return true;
}

static bool finish_national(const char *digits, const struct numbering_plan *plan,
                            const char *input, char out[PHONE_E164_MAX],
                            char *why, size_t why_size)
{
    size_t tl = strlen(plan->trunk);
    const char *nsn = digits;
    if (tl && strncmp(digits, plan->trunk, tl) == 0)
        nsn = digits + tl;
    size_t len = strlen(nsn);
    if (len < (size_t)plan->nsn_min || len > (size_t)plan->nsn_max) {
        snprintf(why, why_size, "'%s' has %zu digits after the trunk prefix; numbers in %s have "
                 "%d to %d (or write it with +country code)", input, len, plan->iso2,
                 plan->nsn_min, plan->nsn_max);
        return false;
    }
    char full[48];
    snprintf(full, sizeof full, "%s%s", plan->cc, nsn);
    return finish_international(full, input, out, why, why_size);
}

bool phone_normalize(const char *input, const char *country, char out[PHONE_E164_MAX],
                     char *why, size_t why_size)
{
    char digits[40];
    if (!strip_separators(input, digits, sizeof digits, why, why_size))
        return false;
    if (digits[0] == '\0' || (digits[0] == '+' && digits[1] == '\0')) {
        snprintf(why, why_size, "'%s' has no digits", input);
        return false;
    }
    if (digits[0] == '+')
        return finish_international(digits + 1, input, out, why, why_size);
    const struct numbering_plan *plan = plan_for(country);
    if (!plan) {
        snprintf(why, why_size, "'%s' has no country code and the country '%s' is unknown; "
                 "write it as +<country code><number>", input, country ? country : "");
        return false;
    }
    size_t il = strlen(plan->intl);
    if (strncmp(digits, plan->intl, il) == 0 && strlen(digits) > il + 4)
        return finish_international(digits + il, input, out, why, why_size);
    return finish_national(digits, plan, input, out, why, why_size);
}
