/*
 * phone: recipient numbers in E.164 ("+353871234567").
 *
 * Accepts what people type: spaces, dashes, dots and brackets; a leading "+"
 * or the international prefix ("00", "011" in North America); a national
 * number with its trunk prefix ("087 123 4567" in Ireland) or without it.
 * National numbers take the calling code of the given ISO 3166 country.
 *
 * Digits alone ("46701234567") can also be read as country code and number:
 * Kannel passes such numbers on as written, so applications written for it
 * send them. phone_read() says which reading applies.
 */
#ifndef HOMING_PHONE_H
#define HOMING_PHONE_H

#include <stdbool.h>
#include <stddef.h>

/* E.164 has at most 15 digits: "+" + 15 + NUL. */
#define PHONE_E164_MAX 17

/*
 * How digits without "+" or the international prefix are read. With "+" or
 * the prefix a number is international under every reading.
 */
enum phone_reading {
    PHONE_READ_NATIONAL,       /* a national number of the given country */
    PHONE_READ_INTERNATIONAL,  /* country code first; the code's plan must know it */
    PHONE_READ_AUTO,           /* whichever of the two is valid; both valid is ambiguous */
};

enum phone_result {
    PHONE_OK,
    PHONE_INVALID,
    PHONE_AMBIGUOUS,           /* PHONE_READ_AUTO only: `why` gives both readings */
};

/*
 * Writes the E.164 form of `input` into out[PHONE_E164_MAX]. On failure
 * returns why in `why` ("'12ab' has a letter at position 3").
 */
enum phone_result phone_read(const char *input, const char *country, enum phone_reading reading,
                             char out[PHONE_E164_MAX], char *why, size_t why_size);

/* phone_read() with PHONE_READ_NATIONAL; true when PHONE_OK. */
bool phone_normalize(const char *input, const char *country, char out[PHONE_E164_MAX],
                     char *why, size_t why_size);

/* True when homing knows the numbering plan of this ISO 3166 alpha-2 code. */
bool phone_country_known(const char *iso2);

#endif
