/*
 * pdu: SMS TPDUs in PDU mode (TS 23.040, TS 27.005), as a modem prints and
 * takes them: the SMSC address first, then the TPDU.
 *
 * pdu_encode_submit() builds the SMS-SUBMIT for AT+CMGS from one segment of
 * gateway/codec. pdu_decode() reads an SMS-DELIVER, SMS-SUBMIT or
 * SMS-STATUS-REPORT (told apart by TP-MTI, as a modem's +CMGL listing mixes
 * them) through a bounds-checked cursor: a PDU that is short, or whose
 * lengths disagree with its size, is an error naming the field, and trailing
 * octets are an error too. Decoding allocates nothing: the UDH and TP-UD
 * pointers point into the caller's buffer, the text into the result struct.
 *
 * Functions returning int return -1 on error with a one-line reason in err.
 */
#ifndef HOMING_PDU_H
#define HOMING_PDU_H

#include "gateway/codec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PDU_MAX 176                  /* SMSC address (12) + largest TPDU (164) */
#define PDU_HEX_MAX (2 * PDU_MAX + 1)
#define PDU_ADDR_MAX 48              /* '+' and 20 digits, or 11 UTF-8 characters */
#define PDU_ERROR_MAX 160

enum pdu_type { PDU_DELIVER, PDU_SUBMIT, PDU_STATUS_REPORT };

/* "deliver", "submit", "status-report". */
const char *pdu_type_name(enum pdu_type type);

struct pdu_address {
    char text[PDU_ADDR_MAX]; /* "+353871234567", "5555", or alphanumeric "Acme" */
    uint8_t toa;             /* the type-of-address octet */
    bool alphanumeric;
};

struct pdu_time {
    int year, month, day, hour, minute, second;
    int tz_minutes;          /* offset east of UTC */
};

/* "2026-11-22T09:15:00+01:00" into buf (at least 26 octets). */
void pdu_time_iso(const struct pdu_time *t, char *buf, size_t size);

/* TP-DCS, every coding group of TS 23.038 clause 4. */
struct pdu_dcs {
    uint8_t raw;
    enum codec_encoding encoding;
    int msg_class;           /* 0..3, or -1 when the DCS gives none */
    bool compressed;
    bool auto_delete;        /* group 01xx: marked for automatic deletion */
    bool mwi;                /* a message waiting indication group (1100..1110) */
    bool mwi_active;
    bool mwi_discard;        /* group 1100: the text may be discarded */
    uint8_t mwi_kind;        /* 0 voicemail, 1 fax, 2 e-mail, 3 other */
};
void pdu_dcs_parse(uint8_t dcs, struct pdu_dcs *out);

struct pdu_udh {
    const uint8_t *data;     /* the information elements, after UDHL */
    size_t len;              /* UDHL */
    bool concat;             /* IEI 0x00 or 0x08, and a sane seq/total */
    uint16_t concat_ref;
    uint8_t concat_total, concat_seq;
    enum codec_lang lang_lock;  /* IEI 0x25 */
    enum codec_lang lang_shift; /* IEI 0x24 */
};

/* TP-ST (TS 23.040 9.2.3.15) in three kinds. */
enum pdu_status_kind {
    PDU_STATUS_DELIVERED,    /* 0x00..0x1F: transaction completed */
    PDU_STATUS_TEMPORARY,    /* 0x20..0x3F: the SC is still trying */
    PDU_STATUS_PERMANENT     /* 0x40..0xFF: failed, or the SC gave up */
};
enum pdu_status_kind pdu_status_kind(uint8_t st);
/* "delivered", "temporary", "permanent". */
const char *pdu_status_kind_name(enum pdu_status_kind kind);
/* What TS 23.040 says the value means, e.g. "SME busy (SC gave up)". */
const char *pdu_status_text(uint8_t st);

struct pdu_sms {
    enum pdu_type type;
    struct pdu_address smsc; /* empty text when the PDU names none */
    struct pdu_address addr; /* TP-OA, TP-DA or TP-RA by type */
    uint8_t first_octet;
    uint8_t mr;              /* submit, status report */
    uint8_t pid;
    struct pdu_dcs dcs;
    bool udhi;
    bool srr;                /* submit: SRR; deliver: SRI; status report: SRQ */
    bool more_to_send;       /* deliver, status report: TP-MMS says more wait */
    bool reply_path;
    uint8_t vpf;             /* submit: 0 none, 2 relative, 1 enhanced, 3 absolute */
    unsigned vp_minutes;     /* submit with a relative validity period */
    struct pdu_time scts;    /* deliver, status report */
    struct pdu_time discharge; /* status report */
    uint8_t status;          /* status report: TP-ST */
    struct pdu_udh udh;
    unsigned udl;
    const uint8_t *ud;       /* TP-UD including any UDH; points into the input */
    size_t ud_len;
    char text[CODEC_TEXT_MAX]; /* the decoded text (empty for 8-bit data) */
    size_t text_len;
};

/* Hex (either case, no spaces) to octets. Returns the octet count. */
int pdu_from_hex(const char *hex, size_t len, uint8_t *out, size_t outsz,
                 char *err, size_t errsz);

/* Decodes buf[0..len), SMSC address first. */
int pdu_decode(const uint8_t *buf, size_t len, struct pdu_sms *out,
               char *err, size_t errsz);

struct pdu_submit {
    const char *to;          /* "+CC..." (international) or national digits */
    uint8_t mr, pid, dcs;
    bool srr;                /* ask for a status report */
    bool udhi;               /* ud starts with a UDH */
    unsigned vp_minutes;     /* relative validity period; 0 for none */
    const uint8_t *ud;       /* TP-UD, e.g. a codec_segment's */
    uint8_t ud_len;
    uint8_t udl;
};

/* Writes the SMS-SUBMIT as hex with the leading "00" SMSC octet (use the
 * modem's default SMSC), NUL-terminated, into hex (PDU_HEX_MAX). Returns the
 * AT+CMGS length: the TPDU octets, SMSC octet excluded. */
int pdu_encode_submit(const struct pdu_submit *in, char *hex, size_t hexsz,
                      char *err, size_t errsz);

/* The TP-VP octet for a relative validity period (rounded up), and back. */
uint8_t pdu_vp_relative(unsigned minutes);
unsigned pdu_vp_minutes(uint8_t vp);

#endif
