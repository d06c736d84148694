/*
 * codec: message text <-> SMS user data (TS 23.038 alphabets, TS 23.040 TP-UD).
 *
 * Outbound, codec_encode() takes UTF-8 text and produces the TP-UD of every
 * segment, ready for a PDU or an SMPP short_message: GSM 7-bit default
 * alphabet (with its extension table) when every character fits, else
 * UCS-2 (UTF-16BE, surrogate pairs for astral characters). Long text is split
 * 153 septets / 67 UTF-16 units per segment behind a concatenation UDH
 * (IEI 0x00, 8-bit reference); an escape pair or a surrogate pair is never
 * split. The whole result lives in the caller's struct: nothing is allocated.
 *
 * Inbound, codec_decode() turns a TP-UD (any alphabet, after a UDH, with the
 * national language tables of TS 23.038 annex A) back into UTF-8.
 *
 * Functions returning int return 0 on success and -1 on error, with a
 * one-line reason in the error buffer named by the function.
 */
#ifndef HOMING_CODEC_H
#define HOMING_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum codec_encoding { CODEC_GSM7, CODEC_8BIT, CODEC_UCS2 };

/* National language identifiers (TS 23.038 6.2.1.2.4), as carried in the
 * UDH single shift (IEI 0x24) and locking shift (IEI 0x25) elements. */
enum codec_lang {
    CODEC_LANG_DEFAULT = 0, CODEC_LANG_TURKISH, CODEC_LANG_SPANISH,
    CODEC_LANG_PORTUGUESE, CODEC_LANG_BENGALI, CODEC_LANG_GUJARATI,
    CODEC_LANG_HINDI, CODEC_LANG_KANNADA, CODEC_LANG_MALAYALAM,
    CODEC_LANG_ORIYA, CODEC_LANG_PUNJABI, CODEC_LANG_TAMIL,
    CODEC_LANG_TELUGU, CODEC_LANG_URDU, CODEC_LANG_COUNT
};

#define CODEC_UD_MAX 140               /* octets of TP-UD */
#define CODEC_MAX_SEGMENTS 255         /* the concat UDH counts in one octet */
#define CODEC_DEFAULT_MAX_SEGMENTS 10
#define CODEC_TEXT_MAX 512             /* UTF-8 of one segment's text + NUL */
#define CODEC_MAX_REPLACED 16
#define CODEC_ERROR_MAX 160

/* "gsm7", "8bit" or "ucs2". */
const char *codec_encoding_name(enum codec_encoding enc);
/* The TP-DCS to send text in `enc` with: 0x00, 0x04 or 0x08. */
uint8_t codec_dcs(enum codec_encoding enc);

/* --- UTF-8 ---------------------------------------------------------------- */

/* Decodes one code point from s[0..len). Returns its length (1..4), or 0 for
 * a malformed sequence: truncated, overlong, a surrogate, above U+10FFFF. */
size_t codec_utf8_next(const uint8_t *s, size_t len, uint32_t *cp);
/* Writes cp (at most U+10FFFF) as UTF-8 into out[0..4); returns the length. */
size_t codec_utf8_put(uint32_t cp, char *out);
/* True if s[0..len) is valid UTF-8; else false with *bad at the offset of
 * the first malformed sequence. */
bool codec_utf8_valid(const char *s, size_t len, size_t *bad);

/* --- GSM 7-bit -------------------------------------------------------------- */

/* The default alphabet's code for cp: a septet 0..127, 0x1B00 | septet for
 * the extension table (sent as ESC, septet), or -1 if cp has none. */
int codec_gsm7_lookup(uint32_t cp);
/* The character a septet stands for in a language's locking shift table
 * (after ESC: its single shift table). 0 where the table has none. */
uint32_t codec_gsm7_char(enum codec_lang lang, bool escaped, uint8_t septet);

/* Septets to NUL-terminated UTF-8 through a language's locking and single
 * shift tables (ESC, septet for the latter). An undefined extension shows the
 * locking table's character, ESC ESC a space, an undefined septet U+FFFD.
 * Returns the length, or -1 if out is too small. */
int codec_gsm7_to_utf8(const uint8_t *septets, size_t n, enum codec_lang lock,
                       enum codec_lang shift, char *out, size_t outsz);

/* Packs n septets LSB first after `fill` zero bits (0..6, the fill bits
 * that align septets after a UDH); returns octets written, (fill+7n+7)/8. */
size_t codec_gsm7_pack(const uint8_t *septets, size_t n, unsigned fill, uint8_t *out);
/* The reverse: `in` must hold (fill + 7n + 7) / 8 octets. */
void codec_gsm7_unpack(const uint8_t *in, size_t n, unsigned fill, uint8_t *septets);

/* Packing where the length travels in octets, not septets (USSD, cell
 * broadcast; TS 23.038 6.1.2.3.1): when 7 bits would be left over, a CR is
 * added so a receiver does not read them as '@'; a wanted final CR on an
 * octet boundary is doubled. `septets` must have room for n + 1. */
size_t codec_gsm7_pack_cr(uint8_t *septets, size_t n, uint8_t *out);
/* Unpacks all septets of `octets` octets and drops a padding CR; returns n. */
size_t codec_gsm7_unpack_cr(const uint8_t *in, size_t octets, uint8_t *septets);

/* --- Outbound: text to segments --------------------------------------------- */

struct codec_options {
    bool smart;            /* replace typographic look-alikes (curly quotes,
                              dashes, NBSP, ...) when that keeps GSM 7-bit */
    bool force_ucs2;       /* always UCS-2 */
    unsigned max_segments; /* 0: CODEC_DEFAULT_MAX_SEGMENTS; at most 255 */
    uint8_t concat_ref;    /* reference for the concat UDH */
};

struct codec_segment {
    size_t text_off;       /* the bytes of the input text it carries */
    size_t text_len;
    uint8_t udl;           /* TP-UDL: septets incl. UDH (GSM 7-bit), or octets */
    uint8_t ud_len;        /* octets used in ud */
    uint8_t ud[CODEC_UD_MAX]; /* TP-UD, the UDH first when there are several */
};

/* A character smart mode replaced: input byte offset, code point, with what. */
struct codec_replacement {
    size_t offset;
    uint32_t from;
    const char *to;
};

struct codec_message {
    enum codec_encoding encoding;
    unsigned units;        /* septets or UTF-16 units of the whole text */
    unsigned nsegments;
    bool udhi;             /* segments start with a concat UDH */
    unsigned nreplaced;    /* how many characters smart mode replaced */
    struct codec_replacement replaced[CODEC_MAX_REPLACED]; /* the first ones */
    char error[CODEC_ERROR_MAX];
    struct codec_segment seg[CODEC_MAX_SEGMENTS];
};

/* Encodes and segments text[0..len). Errors (in out->error): invalid UTF-8
 * (with its byte offset), more segments than opt->max_segments. `opt` may
 * be NULL for the defaults. */
int codec_encode(const char *text, size_t len, const struct codec_options *opt,
                 struct codec_message *out);

/* --- Inbound: user data to text --------------------------------------------- */

struct codec_ud {
    enum codec_encoding encoding;
    const uint8_t *data;   /* TP-UD octets */
    size_t len;            /* octets available at data */
    unsigned udl;          /* TP-UDL: septets (incl. UDH) or octets */
    unsigned udh_len;      /* octets of UDH incl. the UDHL octet; 0 if none */
    enum codec_lang lock;  /* national language tables in force */
    enum codec_lang shift;
};

/* Decodes the text of a TP-UD into NUL-terminated UTF-8 in out (give it
 * CODEC_TEXT_MAX for a single SMS). Returns the length, or -1 with err set
 * when the lengths do not fit. 8-bit data decodes to the empty string;
 * malformed UTF-16 becomes U+FFFD. */
int codec_decode(const struct codec_ud *ud, char *out, size_t outsz,
                 char *err, size_t errsz);
/* Decodes segment i of an encoded message (for display and tests). */
int codec_decode_segment(const struct codec_message *m, unsigned i,
                         char *out, size_t outsz);

#endif
