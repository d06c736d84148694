/*
 * phone: E.164 normalisation from a small numbering-plan table.
 *
 * We do not try to be libphonenumber: for each country we keep its calling
 * code, trunk prefix, international prefix and the length range of its
 * national significant numbers, which catches the typing errors that matter
 * (a digit missing, a letter, a wrong country) without a 10 MB database.
 * Numbers given with "+" are checked against the list of assigned calling
 * codes (ITU-T E.164 assignments), which are prefix-free.
 *
 * Digits alone may also be read as country code and number (Kannel's
 * applications write them so). Nothing marks them as international, so that
 * reading needs the code's plan here and a length that fits it; a code with
 * no plan in the table is refused rather than guessed. Where both readings
 * fit, PHONE_READ_AUTO refuses: a national number with trunk prefix 0 can
 * never be read as international (no calling code starts with 0), so the
 * clash is an unprefixed national number whose digits also start with a
 * calling code ("491234567" in SE: +46491234567 or +491234567), or a trunk
 * prefix that starts calling codes (RU's 8: "84951234567" or +84 951234567).
 * Lengths span fixed and mobile numbers, so the wider a plan's range, the
 * more clashes: in DE (6 to 13) "4915112345678" is both.
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
    { "RS", "381", "0", "00", 8, 10 },  { "EE", "372", "", "00", 7, 8 },
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
    { "AL", "355", "0", "00", 8, 9 },   { "AD", "376", "", "00", 6, 9 },
    { "BA", "387", "0", "00", 8, 9 },   { "BY", "375", "8", "810", 9, 9 },
    { "MD", "373", "0", "00", 8, 8 },   { "ME", "382", "0", "00", 8, 8 },
    { "MK", "389", "0", "00", 8, 8 },   { "XK", "383", "0", "00", 8, 12 },
    { "LI", "423", "0", "00", 7, 9 },   { "MC", "377", "0", "00", 8, 9 },
    { "SM", "378", "", "00", 8, 10 },   { "GI", "350", "", "00", 8, 8 },
    { "GE", "995", "0", "00", 9, 9 },   { "AM", "374", "0", "00", 8, 8 },
    { "AZ", "994", "0", "00", 9, 9 },   { "KZ", "7", "8", "810", 10, 10 },
    { "UZ", "998", "", "00", 9, 9 },    { "JO", "962", "0", "00", 8, 9 },
    { "LB", "961", "0", "00", 7, 8 },   { "KW", "965", "", "00", 8, 8 },
    { "QA", "974", "", "00", 8, 8 },    { "BH", "973", "", "00", 8, 8 },
    { "OM", "968", "", "00", 8, 8 },    { "IQ", "964", "0", "00", 8, 10 },
    { "IR", "98", "0", "00", 6, 10 },   { "DZ", "213", "0", "00", 8, 9 },
    { "TN", "216", "", "00", 8, 8 },    { "LY", "218", "0", "00", 9, 9 },
    { "SN", "221", "", "00", 9, 9 },    { "CI", "225", "", "00", 10, 10 },
    { "GH", "233", "0", "00", 9, 9 },   { "CM", "237", "", "00", 9, 9 },
    { "RW", "250", "0", "00", 8, 9 },   { "ET", "251", "0", "00", 9, 9 },
    { "TZ", "255", "0", "000", 9, 9 },  { "UG", "256", "0", "000", 9, 9 },
    { "ZM", "260", "0", "00", 9, 9 },   { "ZW", "263", "0", "00", 9, 9 },
    { "LK", "94", "0", "00", 9, 9 },    { "NP", "977", "0", "00", 8, 10 },
    { "KH", "855", "0", "001", 8, 9 },  { "TW", "886", "0", "002", 8, 9 },
    { "VE", "58", "0", "00", 10, 10 },  { "EC", "593", "0", "00", 8, 9 },
    { "UY", "598", "0", "00", 8, 8 },   { "PY", "595", "0", "00", 7, 9 },
    { "BO", "591", "0", "00", 8, 8 },   { "CR", "506", "", "00", 8, 8 },
    { "PA", "507", "", "00", 7, 8 },    { "GT", "502", "", "00", 8, 8 },
    { "SV", "503", "", "00", 8, 8 },    { "HN", "504", "", "00", 8, 8 },
    { "DO", "1", "1", "011", 10, 10 },  { "PR", "1", "1", "011", 10, 10 },
};
#define N_PLANS (sizeof plans / sizeof plans[0])

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
    for (size_t i = 0; i < N_PLANS; i++)
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

static enum phone_result result_of(bool ok)
{
    return ok ? PHONE_OK : PHONE_INVALID;
}

static bool nsn_fits(const struct numbering_plan *plan, size_t len)
{
    return len >= (size_t)plan->nsn_min && len <= (size_t)plan->nsn_max;
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
    if (!nsn_fits(plan, len)) {
        snprintf(why, why_size, "'%s' has %zu digits after the trunk prefix; numbers in %s have "
                 "%d to %d (or write it with +country code)", input, len, plan->iso2,
                 plan->nsn_min, plan->nsn_max);
        return false;
    }
    char full[48];
    snprintf(full, sizeof full, "%s%s", plan->cc, nsn);
    return finish_international(full, input, out, why, why_size);
}

/*
 * The plan of the calling code that starts `digits` (cc_len long) whose length
 * fits what follows; else the code's first plan; NULL when the table has none.
 * Codes shared by several countries (1, 7) fit if any of them does.
 */
static const struct numbering_plan *plan_of_code(const char *digits, size_t cc_len)
{
    const struct numbering_plan *first = NULL;
    for (size_t i = 0; i < N_PLANS; i++) {
        const struct numbering_plan *p = &plans[i];
        if (strlen(p->cc) != cc_len || strncmp(p->cc, digits, cc_len) != 0)
            continue;
        if (nsn_fits(p, strlen(digits) - cc_len))
            return p;
        if (!first)
            first = p;
    }
    return first;
}

/*
 * Digits read as country code and number. On failure `clause` says why, worded
 * to follow "read as international it ...".
 */
static bool read_international(const char *digits, char out[PHONE_E164_MAX], const char **iso2,
                               char *clause, size_t size)
{
    size_t cc = calling_code_length(digits);
    if (cc == 0) {
        snprintf(clause, size, "does not start with a country calling code");
        return false;
    }
    const struct numbering_plan *p = plan_of_code(digits, cc);
    size_t len = strlen(digits) - cc;
    if (!p) {
        snprintf(clause, size, "starts with +%.*s, whose numbering plan homing does not know "
                 "(write it with +)", (int)cc, digits);
        return false;
    }
    if (!nsn_fits(p, len)) {
        snprintf(clause, size, "is +%.*s %s, %zu digits after the country code; numbers in %s "
                 "have %d to %d", (int)cc, digits, digits + cc, len, p->iso2, p->nsn_min,
                 p->nsn_max);
        return false;
    }
    *iso2 = p->iso2;
    snprintf(out, PHONE_E164_MAX, "+%s", digits);
    return true;
}

/* A number without "+" or the international prefix, and where its answer goes. */
struct unmarked {
    const char *input, *digits;
    const struct numbering_plan *plan; /* the default country's */
    char *out;                         /* [PHONE_E164_MAX] */
    char *why;
    size_t why_size;
};

static enum phone_result read_as_international(const struct unmarked *u)
{
    char clause[200];
    const char *iso2;
    if (read_international(u->digits, u->out, &iso2, clause, sizeof clause))
        return PHONE_OK;
    snprintf(u->why, u->why_size, "'%s' read as international %s", u->input, clause);
    return PHONE_INVALID;
}

/* One valid reading wins; two that differ are refused with both, so the sender can choose. */
static enum phone_result read_auto(const struct unmarked *u)
{
    char nat[PHONE_E164_MAX], intl[PHONE_E164_MAX], nat_why[256], clause[200];
    const char *iso2 = NULL;
    bool n = finish_national(u->digits, u->plan, u->input, nat, nat_why, sizeof nat_why);
    bool i = read_international(u->digits, intl, &iso2, clause, sizeof clause);
    if (n && i && strcmp(nat, intl) != 0) {
        snprintf(u->why, u->why_size, "'%s' is ambiguous: national in %s it is %s, international "
                 "it is %s (%s); write it with + or %s", u->input, u->plan->iso2, nat, intl,
                 iso2, u->plan->intl);
        return PHONE_AMBIGUOUS;
    }
    if (!n && !i) {
        snprintf(u->why, u->why_size, "%s; read as international it %s", nat_why, clause);
        return PHONE_INVALID;
    }
    memcpy(u->out, n ? nat : intl, PHONE_E164_MAX);
    return PHONE_OK;
}

static enum phone_result read_unmarked(const struct unmarked *u, enum phone_reading reading)
{
    switch (reading) {
    case PHONE_READ_INTERNATIONAL:
        return read_as_international(u);
    case PHONE_READ_AUTO:
        return read_auto(u);
    case PHONE_READ_NATIONAL:
        break;
    }
    return result_of(finish_national(u->digits, u->plan, u->input, u->out, u->why, u->why_size));
}

enum phone_result phone_read(const char *input, const char *country, enum phone_reading reading,
                             char out[PHONE_E164_MAX], char *why, size_t why_size)
{
    char digits[40];
    if (!strip_separators(input, digits, sizeof digits, why, why_size))
        return PHONE_INVALID;
    if (digits[0] == '\0' || (digits[0] == '+' && digits[1] == '\0')) {
        snprintf(why, why_size, "'%s' has no digits", input);
        return PHONE_INVALID;
    }
    if (digits[0] == '+')
        return result_of(finish_international(digits + 1, input, out, why, why_size));
    const struct numbering_plan *plan = plan_for(country);
    if (!plan) {
        snprintf(why, why_size, "'%s' has no country code and the country '%s' is unknown; "
                 "write it as +<country code><number>", input, country ? country : "");
        return PHONE_INVALID;
    }
    size_t il = strlen(plan->intl);
    if (strncmp(digits, plan->intl, il) == 0 && strlen(digits) > il + 4)
        return result_of(finish_international(digits + il, input, out, why, why_size));
    struct unmarked u = { input, digits, plan, out, why, why_size };
    return read_unmarked(&u, reading);
}

bool phone_normalize(const char *input, const char *country, char out[PHONE_E164_MAX],
                     char *why, size_t why_size)
{
    return phone_read(input, country, PHONE_READ_NATIONAL, out, why, why_size) == PHONE_OK;
}
