/*
 * smsc-sim: an SMSC that speaks SMPP 3.4 on loopback TCP, for homing's tests.
 *
 * One process, one thread, one libevent loop. Clients bind over SMPP; a
 * control channel (line protocol, see control.c and README.md) injects
 * mobile-originated messages and turns on faults (throttling, slow answers,
 * silence on enquire_link, dropped connections, malformed PDUs).
 *
 * This simulator must never link homing's own code (gateway/, modem/): a
 * simulator that shares the codec under test would mirror its bugs. Its text
 * decoding (text.c) is small, table-driven and independent.
 *
 * Files:
 *   main.c      command line, listeners, signals, the loop
 *   settings.c  the one table of settings, shared by command line and control
 *   pdu.c       the only file that includes libsmpp34: framing, pack, unpack
 *   conn.c      one SMPP client connection: binds, submits, responses
 *   receipt.c   delivery receipts on timers
 *   control.c   the control channel and its commands (mo, malformed, status)
 *   text.c      GSM 7-bit / UCS-2 / Latin-1 <-> UTF-8, UDH parsing
 *   jlog.c      the JSON-lines log of accepted submits
 */
#ifndef SMSC_SIM_H
#define SMSC_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct event_base;
struct event;
struct bufferevent;

/* ---- SMPP constants we use (values from the SMPP 3.4 specification) ---- */
#define CMD_GENERIC_NACK       0x80000000u
#define CMD_BIND_RECEIVER      0x00000001u
#define CMD_BIND_TRANSMITTER   0x00000002u
#define CMD_SUBMIT_SM          0x00000004u
#define CMD_DELIVER_SM         0x00000005u
#define CMD_UNBIND             0x00000006u
#define CMD_BIND_TRANSCEIVER   0x00000009u
#define CMD_ENQUIRE_LINK       0x00000015u
#define CMD_DATA_SM            0x00000103u
#define CMD_RESP               0x80000000u

#define ST_OK          0x00u
#define ST_INVMSGLEN   0x01u
#define ST_INVCMDLEN   0x02u
#define ST_INVCMDID    0x03u
#define ST_INVBNDSTS   0x04u
#define ST_ALYBND      0x05u
#define ST_SYSERR      0x08u
#define ST_INVDSTADR   0x0Bu
#define ST_INVPASWD    0x0Eu
#define ST_INVSYSID    0x0Fu
#define ST_INVESMCLASS 0x43u
#define ST_THROTTLED   0x58u
#define ST_INVOPTPARSTREAM 0xC0u
#define ST_INVPARLEN   0xC2u

#define PDU_HEADER_LEN 16
#define PDU_MAX_LEN    4096 /* larger than any PDU we accept (payload <= 1024) */

/* ---- decoded PDU bodies (pdu.c fills and reads these) ---- */
struct sim_addr {
    uint8_t ton, npi;
    char addr[66]; /* data_sm allows 65 octets */
};

/* The body shared by submit_sm, deliver_sm and data_sm, decoded. */
struct sim_sm {
    char service_type[6];
    struct sim_addr src, dst;
    uint8_t esm_class, protocol_id, priority, registered_delivery, data_coding;
    char schedule[17], validity[17];
    uint8_t sm[256];
    size_t sm_len;
    bool has_payload;
    uint8_t payload[1024];
    size_t payload_len;
    bool has_sar;
    uint16_t sar_ref;
    uint8_t sar_total, sar_seq;
    char receipted_id[65]; /* deliver_sm receipts: empty when absent */
    bool has_state;
    uint8_t message_state;
};

struct sim_bind {
    char system_id[16], password[9], system_type[13];
};

struct pdu_header {
    uint32_t length, id, status, seq;
};

/* Reads the 16-byte header at buf (len >= 16). */
void pdu_header_read(const uint8_t *buf, struct pdu_header *h);
/* A header-only PDU (generic_nack, enquire_link(_resp), unbind(_resp), error
 * responses): writes 16 bytes to out. */
void pdu_header_write(uint8_t *out, uint32_t id, uint32_t status, uint32_t seq);
/* Unpackers take one whole frame; 0 on success, -1 with a reason in err.
 * pdu_unpack_sm checks the body before libsmpp34 sees it and returns the
 * command_status (> 0) for a malformed one; -1 means libsmpp34 refused it. */
int pdu_unpack_bind(const uint8_t *buf, size_t len, struct sim_bind *out,
                    char *err, size_t errlen);
int pdu_unpack_sm(const uint8_t *buf, size_t len, struct sim_sm *out,
                  char *err, size_t errlen);
/* Packers write into out (outsize bytes) and return the PDU length, or -1. */
int pdu_pack_bind_resp(uint32_t id, uint32_t seq, const char *system_id,
                       uint8_t *out, size_t outsize);
int pdu_pack_message_id_resp(uint32_t id, uint32_t seq, const char *message_id,
                             uint8_t *out, size_t outsize);
int pdu_pack_deliver_sm(uint32_t seq, const struct sim_sm *sm, uint8_t *out,
                        size_t outsize, char *err, size_t errlen);

/* ---- settings (settings.c) ---- */
enum receipts_mode { RECEIPTS_OFF = 0, RECEIPTS_TEXT = 1, RECEIPTS_TLV = 2,
                     RECEIPTS_BOTH = 3 };
enum ids_mode { IDS_DEC, IDS_HEX };
enum throttle_mode { THROTTLE_OFF, THROTTLE_PERCENT, THROTTLE_EVERY };

struct settings {
    char system_id[16], password[9];
    enum receipts_mode receipts;
    long receipt_delay_ms;
    int receipt_state;        /* index into the receipt state table */
    int receipt_err;          /* 0..999, the text form's err: */
    enum ids_mode ids, receipt_ids;
    enum throttle_mode throttle;
    long throttle_n;          /* percent, or every Nth */
    uint64_t seed;
    long slow_ms;             /* delay before submit_sm_resp / data_sm_resp */
    bool enquire;             /* answer enquire_link */
    long drop_after;          /* -1 off, else answer N more submits then drop */
    bool strict;              /* length checks on submits */
    bool verbose;
};

/* Applies one setting by name ("receipts", "slow", ...) from its text value.
 * 0 on success; -1 with a reason in err (unknown name or bad value). */
int settings_set(struct settings *s, const char *name, const char *value,
                 char *err, size_t errlen);
void settings_defaults(struct settings *s);
/* Writes the settings as "name=value ..." into buf. */
void settings_describe(const struct settings *s, char *buf, size_t size);
/* Receipt state: the text stat (DELIVRD) and the message_state TLV value. */
const char *settings_state_stat(int index);
uint8_t settings_state_value(int index);
/* Prints the settings' command-line help. */
void settings_usage(void);

/* ---- the simulator ---- */
enum bind_kind { BIND_NONE, BIND_TX, BIND_RX, BIND_TRX };

struct counters {
    unsigned long connections, binds, bind_failures, submits, accepted,
        throttled, rejected, receipts, receipts_queued, mo, deliver_resps,
        deliver_errors, enquires, drops, nacks;
};

struct conn;
struct receipt;

struct sim {
    struct event_base *base;
    struct settings set;
    struct counters count;
    struct conn *conns;
    unsigned next_conn_id;
    uint64_t next_message_id;
    uint64_t rng;             /* xorshift state for throttle N% */
    unsigned long throttle_k; /* submits seen since throttle was set */
    struct receipt *receipts;
    FILE *log;                /* JSON lines, may be NULL */
};

/* conn.c */
void conn_accept(struct sim *sim, int fd);
void conn_free(struct conn *c);
void conn_free_all(struct sim *sim);
/* A bound connection that can receive deliver_sm for system_id (prefer_id
 * first when it qualifies); NULL if none. */
struct conn *conn_find_receiver(struct sim *sim, const char *system_id,
                                unsigned prefer_id);
unsigned conn_id(const struct conn *c);
enum bind_kind conn_bound(const struct conn *c);
/* Sends a deliver_sm on c; 0 or -1 (reason in err). */
int conn_send_deliver(struct conn *c, const struct sim_sm *sm, char *err,
                      size_t errlen);
/* Writes raw bytes (malformed PDUs) on c. */
void conn_send_raw(struct conn *c, const uint8_t *buf, size_t len);
/* Sends unbind on c and closes it when the answer (or a timeout) comes. */
void conn_send_unbind(struct conn *c);
/* The next sequence number for a PDU the simulator originates on c. */
uint32_t conn_next_seq(struct conn *c);
/* Restarts the throttle pattern (after throttle or seed changed). */
void conn_throttle_reset(struct sim *sim);
/* Iterates the open connections: conn_next(sim, NULL) is the first. */
struct conn *conn_next(struct sim *sim, struct conn *c);
/* How many connections are open / bound. */
unsigned conn_count(const struct sim *sim, bool bound_only);

/* receipt.c */
/* Schedules a receipt for an accepted submit. */
void receipt_schedule(struct sim *sim, const struct sim_sm *submit,
                      const char *system_id, unsigned conn_id,
                      uint64_t message_id);
/* Sends receipts that were waiting for a receiver bind of system_id. */
void receipt_flush(struct sim *sim, const char *system_id);
void receipt_free_all(struct sim *sim);
/* Iterates the receipts not yet sent (for status). */
struct receipt *receipt_next(struct receipt *r);
/* Formats id as the settings say (decimal or hex). */
void receipt_format_id(uint64_t id, enum ids_mode mode, char *buf, size_t size);

/* control.c */
int control_listen(struct sim *sim, const char *spec, char *err, size_t errlen);
void control_free(void);
/* Runs one command line; writes one answer line (without newline) to out. */
void control_execute(struct sim *sim, char *line, char *out, size_t outsize);

/* jlog.c */
void jlog_submit(struct sim *sim, const char *kind, const struct sim_sm *sm,
                 const char *system_id, unsigned conn_id,
                 const char *message_id);

/* text.c */
#define TEXT_MAX 4096
struct udh_concat {
    bool present;
    unsigned ref, total, seq, ref_bits;
};
/* Parses a UDH at the start of buf; returns its full length (1 + UDHL), or -1
 * when it does not fit. Fills concat when a concatenation IE is found. */
int text_udh_parse(const uint8_t *buf, size_t len, struct udh_concat *concat);
/* Decodes user data into UTF-8 per data_coding (0 GSM 7-bit unpacked, 1 IA5,
 * 3 Latin-1, 8 UCS-2 BE). Returns -1 for non-text codings. Undecodable input
 * becomes U+FFFD. */
int text_to_utf8(uint8_t data_coding, const uint8_t *in, size_t len, char *out,
                 size_t outsize);
/* Encodes UTF-8 to GSM 7-bit unpacked (one septet per octet, 0x1B escapes).
 * Returns the octet count, or -1 if a character is not in the GSM alphabet or
 * out is too small. */
int text_gsm_from_utf8(const char *in, uint8_t *out, size_t outsize);
/* Encodes UTF-8 to UTF-16 BE (UCS-2 with surrogate pairs); octets or -1. */
int text_ucs2_from_utf8(const char *in, uint8_t *out, size_t outsize);
/* Encodes UTF-8 to Latin-1; octets or -1. */
int text_latin1_from_utf8(const char *in, uint8_t *out, size_t outsize);
/* The user data of a message (message_payload if present, else
 * short_message), its UDH (when esm_class 0x40) and the text decoded to UTF-8
 * (-1 when the data_coding is not text, or the UDH does not fit). */
struct sm_text {
    const uint8_t *ud;
    size_t ud_len;
    size_t udh_len;
    struct udh_concat concat;
};
int text_sm_decode(const struct sim_sm *sm, struct sm_text *t, char *out,
                   size_t outsize);
/* Lowercase hex of buf into out (2*len+1). */
void text_hex(const uint8_t *buf, size_t len, char *out);

/* main.c: parses "HOST:PORT" or "[V6]:PORT" (port 0 allowed) into ss. */
struct sockaddr_storage;
int sim_parse_addr(const char *spec, struct sockaddr_storage *ss, int *len);
/* main.c: a log line on stderr ("smsc-sim: ..."). */
void sim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sim_debug(struct sim *sim, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
