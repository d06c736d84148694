/*
 * at_parse: framing and classifying what a modem prints. Pure functions over
 * (buf, len), in the picohttpparser manner: nothing is allocated, results
 * point into the input, and "need more" is an answer, not an error.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "modem/at.h"

static bool is_eol(char c)
{
    return c == '\r' || c == '\n';
}

long at_next_line(const char *buf, size_t len, const char **line, size_t *line_len)
{
    size_t start = 0;
    while (start < len && is_eol(buf[start]))
        start++;
    if (start == len)
        return -2;
    /* The SMS prompt: '>' at the start of a line, a space after it, and no line end. */
    if (buf[start] == '>' && (start + 1 == len || buf[start + 1] == ' ')) {
        *line = buf + start;
        *line_len = 1;
        return (long)(start + (start + 1 < len ? 2 : 1));
    }
    size_t end = start;
    while (end < len && !is_eol(buf[end])) {
        if (end - start >= AT_LINE_MAX)
            return -1;
        end++;
    }
    if (end == len)
        return -2;
    *line = buf + start;
    *line_len = end - start;
    return (long)(end + 1);
}

static bool line_is(const char *line, size_t len, const char *word)
{
    size_t n = strlen(word);
    return len == n && memcmp(line, word, n) == 0;
}

static bool line_starts(const char *line, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(line, prefix, n) == 0;
}

/* "+CMS ERROR: 304" -> 304; verbose "+CMS ERROR: SIM busy" -> -1. */
static int error_code(const char *line, size_t len, size_t prefix_len)
{
    size_t i = prefix_len;
    while (i < len && line[i] == ' ')
        i++;
    if (i == len || !isdigit((unsigned char)line[i]))
        return -1;
    int code = 0;
    while (i < len && isdigit((unsigned char)line[i]) && code < 100000)
        code = code * 10 + (line[i++] - '0');
    return i == len ? code : -1;
}

enum at_final at_final_result(const char *line, size_t len, int *code)
{
    *code = -1;
    if (line_is(line, len, "OK"))
        return AT_FINAL_OK;
    if (line_is(line, len, "ERROR") || line_is(line, len, "COMMAND NOT SUPPORT") ||
        line_is(line, len, "NO CARRIER") || line_is(line, len, "TOO MANY PARAMETERS"))
        return AT_FINAL_ERROR;
    if (line_starts(line, len, "+CME ERROR:")) {
        *code = error_code(line, len, 11);
        return AT_FINAL_CME;
    }
    if (line_starts(line, len, "+CMS ERROR:")) {
        *code = error_code(line, len, 11);
        return AT_FINAL_CMS;
    }
    return AT_FINAL_NONE;
}

struct urc_prefix {
    const char *prefix;
    enum at_urc kind;
};

/* Prefixes are matched in order; whole-word noise lines are matched exactly. */
static const struct urc_prefix urc_prefixes[] = {
    { "+CMTI:", AT_URC_CMTI },  { "+CMT:", AT_URC_CMT },     { "+CDSI:", AT_URC_CDSI },
    { "+CDS:", AT_URC_CDS },    { "+CREG:", AT_URC_CREG },   { "+CGREG:", AT_URC_NOISE },
    { "+CEREG:", AT_URC_NOISE }, { "^", AT_URC_NOISE },       { "+CRING:", AT_URC_NOISE },
    { "+CLIP:", AT_URC_NOISE }, { "+CUSD:", AT_URC_NOISE },  { "+CIEV:", AT_URC_NOISE },
    { "+CTZV:", AT_URC_NOISE }, { "+CTZE:", AT_URC_NOISE },  { "+QIND:", AT_URC_NOISE },
    { "+CPIN: READY", AT_URC_NOISE }, { "+CFUN:", AT_URC_NOISE }, { "*PSUTTZ", AT_URC_NOISE },
    { "DST:", AT_URC_NOISE },   { "+STIN:", AT_URC_NOISE },  { "+PACSP", AT_URC_NOISE },
};

static const char *const noise_words[] = {
    "RING", "RDY", "Call Ready", "SMS Ready", "PB DONE", "NORMAL POWER DOWN",
};

enum at_urc at_urc_kind(const char *line, size_t len)
{
    for (size_t i = 0; i < sizeof urc_prefixes / sizeof urc_prefixes[0]; i++)
        if (line_starts(line, len, urc_prefixes[i].prefix))
            return urc_prefixes[i].kind;
    for (size_t i = 0; i < sizeof noise_words / sizeof noise_words[0]; i++)
        if (line_is(line, len, noise_words[i]))
            return AT_URC_NOISE;
    return AT_URC_NONE;
}
