/*
 * phone: recipient numbers in E.164 ("+353871234567").
 *
 * Accepts what people type: spaces, dashes, dots and brackets; a leading "+"
 * or the international prefix ("00", "011" in North America); a national
 * number with its trunk prefix ("087 123 4567" in Ireland) or without it.
 * National numbers take the calling code of the given ISO 3166 country.
 */
#ifndef HOMING_PHONE_H
#define HOMING_PHONE_H

#include <stdbool.h>
#include <stddef.h>

/* E.164 has at most 15 digits: "+" + 15 + NUL. */
#define PHONE_E164_MAX 17

/*
 * Writes the E.164 form of `input` into out[PHONE_E164_MAX]. On failure
 * returns false with a reason in `why` ("'12ab' has a letter at position 3").
 */
bool phone_normalize(const char *input, const char *country, char out[PHONE_E164_MAX],
                     char *why, size_t why_size);

/* True when homing knows the numbering plan of this ISO 3166 alpha-2 code. */
bool phone_country_known(const char *iso2);

#endif
