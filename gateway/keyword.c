/*
 * keyword: see keyword.h. The first word is cut out of the text after
 * folding, as UTF-8, and compared whole with each keyword (folded the same
 * way), so "STOPP" never matches "STOP" unless a deployment adds it.
 */
#include "gateway/keyword.h"

#include <stdint.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/codec.h"

static const char *const builtin_optout[] = { "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END",
                                              "QUIT", "OPTOUT", "REVOKE", NULL };
static const char *const builtin_optin[] = { "START", "UNSTOP", "YES", NULL };
static const char *const builtin_help[] = { "HELP", "INFO", NULL };

/* Full-width ASCII to ASCII, lower case to upper (ASCII and Latin-1). */
static uint32_t fold(uint32_t cp)
{
    if (cp >= 0xFF01 && cp <= 0xFF5E)
        cp -= 0xFEE0;
    if (cp >= 'a' && cp <= 'z')
        return cp - 32;
    if (cp >= 0xE0 && cp <= 0xFE && cp != 0xF7)
        return cp - 32;
    return cp;
}

static bool is_word_char(uint32_t cp)
{
    return (cp >= '0' && cp <= '9') || (cp >= 'A' && cp <= 'Z') ||
           (cp >= 0xC0 && cp != 0xD7 && cp != 0xF7 && !(cp >= 0x2000 && cp <= 0x206F) &&
            cp != 0x3000 && !(cp >= 0xFF00 && cp <= 0xFF0F));
}

/* The first word of `text`, folded, as UTF-8; "" if the text has no word. */
static void first_word(const char *text, char *out, size_t size)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t len = strlen(text), used = 0;
    bool in_word = false;
    out[0] = '\0';
    while (len > 0) {
        uint32_t cp;
        size_t n = codec_utf8_next(s, len, &cp);
        if (n == 0)
            return; /* invalid UTF-8: no keyword */
        s += n;
        len -= n;
        cp = fold(cp);
        if (!is_word_char(cp)) {
            if (in_word)
                break;
            continue; /* leading white space and punctuation */
        }
        in_word = true;
        char enc[4];
        size_t k = codec_utf8_put(cp, enc);
        if (used + k + 1 > size)
            return;
        memcpy(out + used, enc, k);
        used += k;
        out[used] = '\0';
    }
}

static bool in_list(const char *word, const char *const *builtin, const struct conf_strlist *extra)
{
    char folded[64];
    for (size_t i = 0; builtin[i]; i++)
        if (strcmp(word, builtin[i]) == 0)
            return true;
    for (size_t i = 0; extra && i < extra->n; i++) {
        first_word(extra->items[i], folded, sizeof folded);
        if (strcmp(word, folded) == 0)
            return true;
    }
    return false;
}

enum keyword_kind keyword_match(const struct conf *conf, const char *text, char *word,
                                size_t word_size)
{
    char w[64];
    first_word(text, w, sizeof w);
    enum keyword_kind kind = KEYWORD_NONE;
    if (!*w)
        kind = KEYWORD_NONE;
    else if (in_list(w, builtin_optout, conf ? &conf->keywords.optout : NULL))
        kind = KEYWORD_OPTOUT;
    else if (in_list(w, builtin_optin, conf ? &conf->keywords.optin : NULL))
        kind = KEYWORD_OPTIN;
    else if (in_list(w, builtin_help, conf ? &conf->keywords.help : NULL))
        kind = KEYWORD_HELP;
    if (word && word_size)
        snprintf(word, word_size, "%s", kind == KEYWORD_NONE ? "" : w);
    return kind;
}

const char *keyword_kind_name(enum keyword_kind kind)
{
    switch (kind) {
    case KEYWORD_OPTOUT: return "opt-out";
    case KEYWORD_OPTIN: return "opt-in";
    case KEYWORD_HELP: return "help";
    default: return "none";
    }
}
