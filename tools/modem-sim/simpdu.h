/*
 * simpdu: modem-sim's own small SMS PDU codec (3GPP TS 23.040 / 23.038).
 *
 * It decodes the SMS-SUBMIT a gateway sends with AT+CMGS and encodes the
 * SMS-DELIVER and SMS-STATUS-REPORT a network would hand to a modem. It is
 * written plainly and shares nothing with homing's modem/ or gateway/ code on
 * purpose: a simulator that reused the gateway's codec would agree with its
 * bugs. Published vectors pin it down in tests/integration/test_modem_sim.c.
 * Its names carry the simpdu_ prefix, not pdu_, because that test compiles
 * this file next to homing's own modem/ objects, whose PDU codec is pdu_.
 *
 * Hex strings are what a modem prints: the SMSC address octets first, then
 * the TPDU. Lengths returned are TPDU octets (what AT+CMGS=<n> counts).
 */
#ifndef MODEMSIM_SIMPDU_H
#define MODEMSIM_SIMPDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SIMPDU_MAX_OCTETS 200
#define SIMPDU_MAX_HEX (SIMPDU_MAX_OCTETS * 2 + 1)
#define SIMPDU_TEXT_MAX 1024

enum simpdu_enc { SIMPDU_ENC_GSM7, SIMPDU_ENC_8BIT, SIMPDU_ENC_UCS2 };

struct simpdu_concat {
    bool present;
    int ref;
    int total;
    int seq;
};

/* A decoded SMS-SUBMIT. text is UTF-8 for GSM 7-bit and UCS-2, hex for 8-bit. */
struct simpdu_submit {
    int first_octet;
    bool srr;
    bool udhi;
    int vpf;           /* 0 none, 1 enhanced, 2 relative, 3 absolute */
    int vp_relative;   /* TP-VP octet when vpf == 2, else -1 */
    char vp_hex[15];   /* raw TP-VP octets when vpf is 1 or 3 */
    int mr;
    char to[24];       /* "+" prefixed when the type of number is international */
    int to_toa;
    int pid;
    int dcs;
    enum simpdu_enc enc;
    int udl;
    struct simpdu_concat concat;
    char text[SIMPDU_TEXT_MAX];
    int tpdu_len;
};

/* What an injected SMS-DELIVER carries. text is one part, UTF-8. */
struct simpdu_deliver {
    const char *smsc;     /* "+353..." or NULL/"" for none (length octet 00) */
    const char *from;     /* digits with optional "+", or alphanumeric */
    int from_toa;         /* 0: 0x91 with "+", 0x81 without, 0xD0 alphanumeric */
    time_t scts;
    int tz_quarters;      /* signed, quarters of an hour east of UTC */
    enum simpdu_enc enc;
    struct simpdu_concat concat;
    const char *text;
    size_t text_len;
};

struct simpdu_report {
    const char *smsc;
    int mr;
    const char *recipient;
    time_t scts;
    time_t dt;
    int tz_quarters;
    int st;
};

/* Hex to octets; returns the octet count, or -1 on odd length, bad digit, overflow. */
int simpdu_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t cap);
/* Octets to upper-case hex; out must hold 2n+1 bytes. */
void simpdu_hex_encode(const uint8_t *in, size_t n, char *out);

/* Length of the SMSC part (its length octet included), or -1 if it overruns. */
int simpdu_smsc_octets(const uint8_t *p, size_t n);

/* Decodes SMSC address + SMS-SUBMIT. false with a reason in err on anything malformed. */
bool simpdu_submit_decode(const uint8_t *p, size_t n, struct simpdu_submit *out,
                       char *err, size_t errlen);

/* Encode into hex (SMSC first); return the TPDU length, or -1 if it does not fit. */
int simpdu_deliver_encode(const struct simpdu_deliver *d, char *hex, size_t cap);
int simpdu_report_encode(const struct simpdu_report *r, char *hex, size_t cap);

/* Whether every character of the UTF-8 text is in the GSM default alphabet or its extension. */
bool simpdu_gsm7_fits(const char *text, size_t len);

/*
 * Splits UTF-8 text into parts that each fit one SMS (with a concat UDH when
 * there is more than one). want == 0: as few parts as fit; want > 0: exactly
 * that many parts of about equal length. Writes want+1 byte offsets into
 * cuts (cuts[0] = 0, cuts[n] = len); returns the part count or -1.
 */
int simpdu_split(const char *text, size_t len, enum simpdu_enc enc, int want,
              size_t *cuts, int max_parts);

/* Packs septets into octets after `fill` zero bits; returns octets written. */
size_t simpdu_pack7(const uint8_t *septets, size_t n, int fill, uint8_t *out);

#endif
