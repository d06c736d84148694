/*
 * smpp_pdu: SMPP 3.4 PDUs for the session, and the text and receipt helpers
 * around them. Every PDU is read and written by our own code; smpp_pdu.c is
 * still the only file that includes libsmpp34, for the *_lib functions the
 * identity tests compare ours with (declared after the encoders). Nothing of
 * the library leaks out of this header.
 *
 * Incoming bytes go through three steps, each bounded:
 *   smpp_frame()   is a whole PDU in the buffer? (picohttpparser style)
 *   smpp_decode()  that one PDU, switched on its command_id, into a
 *                  struct smpp_pdu, with a verdict that tells the session
 *                  what to do (handle it, ignore it, answer generic_nack).
 *   smpp_sm_text() / smpp_receipt_parse()  the text or the receipt inside.
 * Outgoing PDUs are written into a caller's buffer by smpp_encode_*().
 *
 * Functions returning int return 0 (or a length) on success and -1 on error,
 * with a one-line reason naming the PDU and field in `err` (give it
 * SMPP_ERROR_MAX). Nothing allocates beyond the call.
 */
#ifndef HOMING_SMPP_PDU_H
#define HOMING_SMPP_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* command_id values (SMPP 3.4 5.1.2.1). */
#define SMPP_GENERIC_NACK          0x80000000u
#define SMPP_BIND_RECEIVER         0x00000001u
#define SMPP_BIND_RECEIVER_RESP    0x80000001u
#define SMPP_BIND_TRANSMITTER      0x00000002u
#define SMPP_BIND_TRANSMITTER_RESP 0x80000002u
#define SMPP_SUBMIT_SM             0x00000004u
#define SMPP_SUBMIT_SM_RESP        0x80000004u
#define SMPP_DELIVER_SM            0x00000005u
#define SMPP_DELIVER_SM_RESP       0x80000005u
#define SMPP_UNBIND                0x00000006u
#define SMPP_UNBIND_RESP           0x80000006u
#define SMPP_BIND_TRANSCEIVER      0x00000009u
#define SMPP_BIND_TRANSCEIVER_RESP 0x80000009u
#define SMPP_OUTBIND               0x0000000Bu
#define SMPP_ENQUIRE_LINK          0x00000015u
#define SMPP_ENQUIRE_LINK_RESP     0x80000015u
#define SMPP_ALERT_NOTIFICATION    0x00000102u
#define SMPP_DATA_SM               0x00000103u
#define SMPP_DATA_SM_RESP          0x80000103u
#define SMPP_RESP_BIT              0x80000000u

/* command_status values the session answers with or tests for. Any other
 * value (vendor codes included) is carried through as a plain number. */
#define SMPP_ESME_ROK              0x00000000u
#define SMPP_ESME_RINVMSGLEN       0x00000001u
#define SMPP_ESME_RINVCMDLEN       0x00000002u
#define SMPP_ESME_RINVCMDID        0x00000003u
#define SMPP_ESME_RSYSERR          0x00000008u
#define SMPP_ESME_RMSGQFUL         0x00000014u
#define SMPP_ESME_RTHROTTLED       0x00000058u
#define SMPP_ESME_RX_T_APPN        0x00000064u
#define SMPP_ESME_RINVOPTPARSTREAM 0x000000C0u
#define SMPP_ESME_RINVPARLEN       0x000000C2u

/* esm_class bits. */
#define SMPP_ESM_RECEIPT 0x04      /* deliver_sm carries an SMSC receipt */
#define SMPP_ESM_UDHI    0x40      /* short_message starts with a UDH */

#define SMPP_HEADER_LEN   16
#define SMPP_PDU_MAX      4096     /* the frame bound we use; see smpp_frame */
#define SMPP_SEQ_MAX      0x7FFFFFFFu
#define SMPP_SM_MAX       254      /* short_message octets (SMPP 3.4) */
#define SMPP_SM_PACK_MAX  253      /* ... that libsmpp34 can pack */
#define SMPP_PAYLOAD_MAX  1024     /* message_payload octets */
#define SMPP_ID_MAX       65       /* message_id: 64 octets + NUL */
#define SMPP_ADDR_MAX     65       /* data_sm's destination_addr is the widest */
#define SMPP_ERROR_MAX    160

/* --- framing ----------------------------------------------------------------- */

struct smpp_header {
    uint32_t command_length;
    uint32_t command_id;
    uint32_t command_status;
    uint32_t sequence_number;
};

/* The length of the PDU at buf when all of it is there; -2 when more bytes
 * are needed (fewer than 4, or fewer than command_length); -1 when
 * command_length is below 16 or above max_len (a peer to drop: the stream
 * cannot be resynchronised). */
ssize_t smpp_frame(const uint8_t *buf, size_t len, size_t max_len);
/* Reads the 16-octet header; -1 if len < 16. */
int smpp_header_read(const uint8_t *buf, size_t len, struct smpp_header *h);
/* The next sequence number after seq: 1..0x7FFFFFFF, wrapping to 1. */
uint32_t smpp_seq_next(uint32_t seq);
/* "deliver_sm", "generic_nack", ... or "unknown". */
const char *smpp_command_name(uint32_t command_id);

/* --- PDU contents -------------------------------------------------------------- */

struct smpp_addr {
    uint8_t ton;
    uint8_t npi;
    char addr[SMPP_ADDR_MAX];
};

struct smpp_bind {               /* bind_transmitter / _receiver / _transceiver */
    char system_id[16];
    char password[9];
    char system_type[13];
    uint8_t interface_version;   /* 0x34 */
    uint8_t addr_ton;
    uint8_t addr_npi;
    char address_range[41];
};

/* submit_sm, deliver_sm and data_sm (data_sm has no short_message and no
 * fields between esm_class and registered_delivery but data_coding). */
struct smpp_sm {
    char service_type[6];
    struct smpp_addr source;
    struct smpp_addr dest;
    uint8_t esm_class;
    uint8_t protocol_id;
    uint8_t priority_flag;
    char schedule_delivery_time[17];
    char validity_period[17];    /* absolute or "YYMMDDhhmmss000R" */
    uint8_t registered_delivery;
    uint8_t data_coding;
    uint8_t sm_length;
    uint8_t short_message[SMPP_SM_MAX];
    /* TLVs: each has_ flag says it was (or is to be) present. */
    bool has_payload;
    uint16_t payload_len;
    uint8_t payload[SMPP_PAYLOAD_MAX];
    bool has_sar;                /* all three SAR TLVs */
    uint16_t sar_msg_ref_num;
    uint8_t sar_total_segments;
    uint8_t sar_segment_seqnum;
    bool has_receipted_id;
    char receipted_message_id[SMPP_ID_MAX];
    bool has_message_state;
    uint8_t message_state;
    bool has_network_error;
    uint8_t network_error_code[3]; /* network type, error code (BE) */
};

/* What the session should do with a decoded PDU. */
enum smpp_verdict {
    SMPP_HANDLE,      /* act on pdu->h.command_id and its fields */
    SMPP_IGNORE,      /* recognised, nothing to do (outbind, alert_notification) */
    SMPP_NACK,        /* answer generic_nack with pdu->nack_status and the
                         same sequence_number (unknown command_id) */
};

struct smpp_pdu {
    struct smpp_header h;
    uint32_t nack_status;        /* on SMPP_NACK, or on a malformed request:
                                    the status to answer with */
    bool body;                   /* a resp carried a body (error resps often don't) */
    struct smpp_bind bind;       /* bind_* requests */
    char system_id[16];          /* bind_*_resp, outbind */
    bool has_sc_version;
    uint8_t sc_interface_version;
    char message_id[SMPP_ID_MAX];/* submit_sm_resp, data_sm_resp */
    struct smpp_sm sm;           /* submit_sm, deliver_sm, data_sm */
};

/*
 * Decodes one framed PDU (buf[0..len), len the value smpp_frame returned).
 * Returns a verdict (>= 0), or -1 for a malformed PDU with the reason in
 * err. After -1, pdu->h holds the header and pdu->nack_status the status a
 * request should be answered with (the resp for a known request,
 * generic_nack otherwise). The session should drop a peer that sends
 * malformed TLVs or malformed responses: it is out of step with us.
 * An address whose TON or NPI SMPP 3.4 does not define, or a
 * bind_transmitter or bind_transceiver whose interface_version is not 0x34,
 * is refused too (nack_status ESME_RSYSERR), as libsmpp34 refused them.
 *
 * command_status is read from the raw header: a vendor status in a resp is
 * kept as is and the body, if any, is parsed leniently (message_id only);
 * a body that does not parse is then ignored (pdu->body false).
 */
int smpp_decode(const uint8_t *buf, size_t len, struct smpp_pdu *pdu,
                char *err, size_t errsz);

/* --- encoding ------------------------------------------------------------------ */
/*
 * Each writes one PDU into buf[0..size) and returns its length, or -1 with
 * err set (a string too long for its field, seq outside 1..0x7FFFFFFF, the
 * buffer too small). SMPP_PDU_MAX + 1 is always enough.
 */

/* command_id: SMPP_BIND_TRANSMITTER, _RECEIVER or _TRANSCEIVER.
 * interface_version 0 sends 0x34, the only one accepted (but in a
 * bind_receiver, where libsmpp34 took any). */
int smpp_encode_bind(uint32_t command_id, const struct smpp_bind *b, uint32_t seq,
                     uint8_t *buf, size_t size, char *err, size_t errsz);
/* submit_sm (command_id SMPP_SUBMIT_SM), deliver_sm or data_sm from sm; its
 * TLVs go out when their has_ flag is set. short_message at most 253 octets
 * (libsmpp34's limit, kept), and empty when has_payload. Every TON and NPI
 * must be one SMPP 3.4 defines. */
int smpp_encode_sm(uint32_t command_id, const struct smpp_sm *sm, uint32_t seq,
                   uint8_t *buf, size_t size, char *err, size_t errsz);
/* A resp with command_status `status` (any value, vendor codes too):
 * deliver_sm_resp, data_sm_resp (message_id may be NULL), submit_sm_resp,
 * bind_*_resp (message_id is then the system_id), and the header-only ones:
 * enquire_link_resp, unbind_resp, generic_nack. */
int smpp_encode_resp(uint32_t command_id, uint32_t status, const char *message_id,
                     uint32_t seq, uint8_t *buf, size_t size, char *err, size_t errsz);
/* Header-only requests: enquire_link, unbind. */
int smpp_encode_simple(uint32_t command_id, uint32_t seq, uint8_t *buf, size_t size,
                       char *err, size_t errsz);

/*
 * The same encoders and decoder done by libsmpp34, as homing did before it
 * wrote every octet itself. They exist for the identity tests only (the
 * same octets, the same smpp_pdu fields, the same refusals on random
 * input); nothing at run time may call them, as calling the library maps
 * about 240 KiB of its code into the process. Their error texts name
 * libsmpp34 where it is the one refusing.
 */
int smpp_encode_bind_lib(uint32_t command_id, const struct smpp_bind *b, uint32_t seq,
                         uint8_t *buf, size_t size, char *err, size_t errsz);
int smpp_encode_sm_lib(uint32_t command_id, const struct smpp_sm *sm, uint32_t seq,
                       uint8_t *buf, size_t size, char *err, size_t errsz);
int smpp_encode_resp_lib(uint32_t command_id, uint32_t status, const char *message_id,
                         uint32_t seq, uint8_t *buf, size_t size, char *err, size_t errsz);
int smpp_encode_simple_lib(uint32_t command_id, uint32_t seq, uint8_t *buf, size_t size,
                           char *err, size_t errsz);
int smpp_decode_lib(const uint8_t *buf, size_t len, struct smpp_pdu *pdu,
                    char *err, size_t errsz);

/* An address from text: "+353..." is international (TON 1, NPI 1, sent
 * without the '+'), digits alone are TON 0 NPI 1, anything else is an
 * alphanumeric sender (TON 5, NPI 0, at most 11 characters). -1 if empty or
 * too long. */
int smpp_addr_from_text(const char *text, struct smpp_addr *out, char *err, size_t errsz);
/* validity_period in SMPP relative format "YYMMDDhhmmss000R" for `seconds`
 * (at most 99 years); out has room for 17. */
void smpp_validity_relative(uint64_t seconds, char out[17]);

/* --- text --------------------------------------------------------------------- */

/* data_coding values we send and read. */
#define SMPP_DC_DEFAULT 0x00   /* GSM 7-bit, unpacked: one septet per octet */
#define SMPP_DC_IA5     0x01   /* ASCII */
#define SMPP_DC_LATIN1  0x03
#define SMPP_DC_UCS2    0x08
#define SMPP_DC_AUTO    0xFF   /* for smpp_text_options: GSM if it fits, else UCS-2 */

/* How a bind carries long messages (config key smpp[].concat). */
enum smpp_concat { SMPP_CONCAT_UDH, SMPP_CONCAT_SAR, SMPP_CONCAT_PAYLOAD };
/* "udh", "sar", "payload" -> enum; -1 for anything else. */
int smpp_concat_parse(const char *name, enum smpp_concat *out);

#define SMPP_PART_MAX 160      /* octets of one part: 6 UDH + 153 septets, or 160 */
#define SMPP_MAX_PARTS 255

struct smpp_text_options {
    enum smpp_concat concat;
    uint8_t data_coding;       /* SMPP_DC_AUTO, _DEFAULT, _LATIN1 or _UCS2 */
    unsigned max_parts;        /* 0: 10; at most 255 */
    uint16_t ref;              /* concat reference (8 bits of it in a UDH) */
};

struct smpp_text {
    uint8_t data_coding;
    enum smpp_concat concat;
    unsigned units;            /* septets, UTF-16 units or Latin-1 octets */
    unsigned nparts;
    bool udhi;                 /* parts start with a 6-octet concat UDH */
    bool sar;                  /* parts carry SAR TLVs */
    bool payload;              /* the one part goes in message_payload */
    uint16_t ref;
    size_t payload_len;
    uint8_t payload_data[SMPP_PAYLOAD_MAX];
    struct { uint8_t len; uint8_t data[SMPP_PART_MAX]; } part[SMPP_MAX_PARTS];
};

/*
 * Turns UTF-8 text into the short_message (or message_payload) bytes of
 * each part. Text that fits one SMS is one part in short_message whatever
 * the concat method. Otherwise: udh -> 153 septets / 67 UTF-16 units /
 * 134 Latin-1 octets per part behind a concat UDH (IEI 0x00); sar -> the
 * same split with no UDH and SAR TLVs; payload -> one message_payload of at
 * most 1024 octets. An escape pair or a surrogate pair is never split.
 * Errors: invalid UTF-8, a character the chosen data_coding lacks, too many
 * parts, too long for a payload.
 */
int smpp_text_encode(const char *text, size_t len, const struct smpp_text_options *opt,
                     struct smpp_text *out, char *err, size_t errsz);
/* Sets data_coding, esm_class's UDHI bit, short_message or message_payload
 * and the SAR TLVs of `sm` for part i; leaves its other fields alone. */
void smpp_text_apply(const struct smpp_text *t, unsigned i, struct smpp_sm *sm);

struct smpp_concat_info {
    bool present;              /* a concat UDH element or SAR TLVs */
    uint16_t ref;
    uint8_t total;
    uint8_t seq;
};

/*
 * Decodes text bytes per data_coding into NUL-terminated UTF-8: 0 GSM 7-bit
 * unpacked (ESC + code for the extension table), 1 ASCII, 3 Latin-1,
 * 8 UCS-2 (UTF-16BE, surrogate pairs), 0xF0..0xF3 as 0. When udhi, a UDH
 * is skipped and a concat element (IEI 0x00 or 0x08) is returned in
 * concat. Binary codings (2, 4, 0xF4..) give the empty string. Returns the
 * length, or -1 (a UDH longer than the data, out too small).
 */
int smpp_text_decode(uint8_t data_coding, bool udhi, const uint8_t *data, size_t len,
                     char *out, size_t outsz, struct smpp_concat_info *concat,
                     char *err, size_t errsz);
/* smpp_text_decode of a deliver_sm / data_sm: message_payload when present,
 * else short_message; concat from the UDH or the SAR TLVs. */
int smpp_sm_text(const struct smpp_sm *sm, char *out, size_t outsz,
                 struct smpp_concat_info *concat, char *err, size_t errsz);

/* --- receipts ------------------------------------------------------------------ */

/* message_state TLV values (SMPP 3.4 5.2.28; 0 and 9 from SMPP 5.0). */
enum smpp_msg_state {
    SMPP_STATE_SCHEDULED = 0, SMPP_STATE_ENROUTE = 1, SMPP_STATE_DELIVERED = 2,
    SMPP_STATE_EXPIRED = 3, SMPP_STATE_DELETED = 4, SMPP_STATE_UNDELIVERABLE = 5,
    SMPP_STATE_ACCEPTED = 6, SMPP_STATE_UNKNOWN = 7, SMPP_STATE_REJECTED = 8,
    SMPP_STATE_SKIPPED = 9
};

enum smpp_outcome { SMPP_OUTCOME_PENDING, SMPP_OUTCOME_DELIVERED, SMPP_OUTCOME_UNDELIVERED };

struct smpp_receipt {
    char id[SMPP_ID_MAX];      /* as written, "" if absent */
    int sub;                   /* -1 if absent or not a number */
    int dlvrd;
    char submit_date[13];      /* the digits, 10 or 12 of them; "" if absent */
    char done_date[13];
    bool has_state;
    enum smpp_msg_state state;
    char stat[16];             /* the stat: value as written */
    char err[16];              /* the err: value as written */
    char text[64];             /* the text: value (receipts carry 20 characters) */
};

/*
 * Parses the Appendix B text form "id:... sub:... dlvrd:... submit date:...
 * done date:... stat:... err:... text:...". Keys in any case and order,
 * missing or extra fields, "Text:", dates of 10 or 12 digits, an id of any
 * form. Everything after "text:" is the text. Returns 0 when an id and a
 * stat were found, -1 otherwise (not a receipt; fields found are still set).
 */
int smpp_receipt_parse(const char *text, size_t len, struct smpp_receipt *out);
/* "DELIVRD", "UNDELIV", ... (and DELIVERED, UNDELIVERABLE, REJECTED,
 * ACCEPTED, FAILED) in any case -> state; -1 if unknown. */
int smpp_state_from_stat(const char *stat, enum smpp_msg_state *out);
/* The 7-letter Appendix B name: "DELIVRD", ... */
const char *smpp_state_name(enum smpp_msg_state s);
/* Final states: DELIVERED, EXPIRED, DELETED, UNDELIVERABLE, UNKNOWN,
 * REJECTED, SKIPPED. ENROUTE, SCHEDULED and ACCEPTED are not: SMPP 3.4
 * calls ACCEPTED final, but SMSCs (jasmin, many carriers) send ACCEPTD as
 * an intermediate "taken by the network" and a DELIVRD after it. */
bool smpp_state_final(enum smpp_msg_state s);
/* DELIVERED -> delivered; the other final states -> undelivered; else pending. */
enum smpp_outcome smpp_state_outcome(enum smpp_msg_state s);

/* How a receipt's id (b) is compared with the submit_sm_resp message_id (a). */
enum smpp_id_mode {
    SMPP_ID_EXACT,    /* byte for byte */
    SMPP_ID_DECIMAL,  /* both decimal: the same number (leading zeros aside) */
    SMPP_ID_HEX,      /* both hex: the same number (leading zeros, case aside) */
    SMPP_ID_HEX_DEC,  /* a in hex, b in decimal (SMPP 3.3 habit; Nexmo) */
    SMPP_ID_DEC_HEX,  /* a in decimal, b in hex */
    SMPP_ID_AUTO,     /* any of the above that is unambiguous, see below */
};
/*
 * The rule: SMSCs differ in how they print the same id in submit_sm_resp
 * and in the receipt (SMPP 3.3 hex vs 3.4 decimal, zero padding to 10
 * digits). Ids are compared as unsigned numbers of any size (no 64-bit
 * limit: 20-digit ids exist). An id with a character that is not a hex
 * digit only ever matches exactly. AUTO matches when the ids are equal, or
 * are the same number in the same base (leading zeros aside), or one of
 * them has a hex letter (so it is surely hex) and the other, read as
 * decimal, is the same number. A hex id of digits only ("12345678") is not
 * tried against a decimal one under AUTO, as "16" and "10" would then
 * match: a bind whose SMSC does that needs HEX_DEC (Kannel's msg-id-type
 * serves the same purpose).
 */
bool smpp_ids_match(const char *a, const char *b, enum smpp_id_mode mode);

#endif
