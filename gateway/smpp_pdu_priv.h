/*
 * smpp_pdu_priv: what smpp_pdu.c shares with smpp_pdu_lib.c, the libsmpp34
 * variants the unit tests compare the codec with. Nothing else includes it.
 */
#ifndef HOMING_SMPP_PDU_PRIV_H
#define HOMING_SMPP_PDU_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gateway/smpp_pdu.h"

#define TAG_RECEIPTED_ID 0x001E
#define TAG_SAR_REF      0x020C
#define TAG_SAR_TOTAL    0x020E
#define TAG_SAR_SEQ      0x020F
#define TAG_SC_VERSION   0x0210
#define TAG_NETWORK_ERR  0x0423
#define TAG_PAYLOAD      0x0424
#define TAG_MSG_STATE    0x0427

/* A bounds-checked cursor over an incoming PDU (the guard). */
struct smpp_guard {
    const char *pdu;       /* its name, for reasons */
    const uint8_t *p;
    size_t len, off;
    size_t mand;           /* where the mandatory fields end (guard_fields) */
    char *err;
    size_t errsz;
    uint32_t status;       /* the nack status for the reason given */
};

/* The decoders smpp_decode and smpp_decode_lib differ in. */
struct smpp_decoders {
    int (*bind)(struct smpp_guard *g, uint32_t id, struct smpp_pdu *pdu);
    int (*resp)(struct smpp_guard *g, uint32_t id, struct smpp_pdu *pdu);
    int (*sm)(struct smpp_guard *g, uint32_t id, struct smpp_pdu *pdu);
};

/* Writes the reason into err (when given); returns -1. */
int smpp_pdu_fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same, named after the PDU, with g->status the nack status to answer with. */
int smpp_guard_fail(struct smpp_guard *g, uint32_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void smpp_put32(uint8_t *p, uint32_t v);
void smpp_copy_str(char *dst, size_t dstsz, const void *src);

/* The guard's walks over each kind of body (fields and TLVs, bounds checked). */
int smpp_guard_sm(struct smpp_guard *g, uint32_t id, struct smpp_pdu *pdu);
int smpp_guard_bind(struct smpp_guard *g);
int smpp_guard_resp(struct smpp_guard *g, uint32_t id, struct smpp_pdu *pdu, bool *sound);
/* smpp_decode with the body decoders `d`. */
int smpp_decode_with(const uint8_t *buf, size_t len, struct smpp_pdu *pdu, char *err,
                     size_t errsz, const struct smpp_decoders *d);

/* The checks every encoder makes before it writes a PDU. */
int smpp_check_seq(uint32_t id, uint32_t seq, char *err, size_t errsz);
int smpp_check_bind(uint32_t id, const struct smpp_bind *b, uint32_t seq, char *err,
                    size_t errsz);
int smpp_check_sm(uint32_t id, const struct smpp_sm *sm, char *err, size_t errsz);
int smpp_check_id_resp(uint32_t id, const char *mid, char *err, size_t errsz);
int smpp_check_simple(uint32_t id, uint32_t seq, char *err, size_t errsz);
bool smpp_is_sm(uint32_t id);
/* The interface_version a bind carries: the caller's, or 0x34. */
uint8_t smpp_bind_version(const struct smpp_bind *b);
/* Whether a resp carries its message_id (SMPP 3.4 4.1.2, 4.4.2). */
bool smpp_id_resp_has_body(uint32_t id, uint32_t status);

#endif
