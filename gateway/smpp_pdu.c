/*
 * smpp_pdu: framing, decoding and encoding of SMPP 3.4 PDUs.
 *
 * libsmpp34 does the field work, but it cannot be handed outside bytes as
 * they come (DEPENDENCIES.md, and its source): it trusts the command_length
 * inside the buffer, reads C-octet strings with strlen() past the end of a
 * short buffer, rejects vendor command_status values and sequence number 0,
 * reads fixed-size TLVs (message_state, sar_*) without looking at their
 * length octets so one bad length shifts every field after it, and a TLV
 * that fails half-way leaks its node (1040 bytes under ASan, probed with
 * a message_payload claiming 100 octets of 1). So every PDU is first walked
 * with our own bounds-checked cursor against a table of its mandatory
 * fields (the guard), TLVs included; only a PDU that passes is unpacked,
 * and then from a private copy that holds the mandatory part alone, with
 * command_length, command_status and sequence_number patched to values
 * libsmpp34 accepts. TLVs never reach libsmpp34: we read the ones we need
 * in the guard's walk. The raw header is the truth for status and sequence.
 *
 * Packing goes the other way: lengths are checked here first (libsmpp34
 * truncates an over-long C-octet string silently), TLV nodes live on our
 * stack, the PDU is packed with status 0 and sequence 1 into a buffer one
 * octet larger than needed, and the real status and sequence are written
 * into the header afterwards.
 */
#include "gateway/smpp_pdu.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wpedantic"
#include <smpp34.h>
#include <smpp34_structs.h>
#include <smpp34_params.h>
#pragma GCC diagnostic pop

#define TAG_RECEIPTED_ID 0x001E
#define TAG_SAR_REF      0x020C
#define TAG_SAR_TOTAL    0x020E
#define TAG_SAR_SEQ      0x020F
#define TAG_SC_VERSION   0x0210
#define TAG_NETWORK_ERR  0x0423
#define TAG_PAYLOAD      0x0424
#define TAG_MSG_STATE    0x0427

static int fail(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errsz, const char *fmt, ...)
{
    va_list ap;
    if (err && errsz) {
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* libsmpp34 logs every field into smpp34_strerror, "[name:value(verdict)]";
 * the failing field is the last entry. */
static const char *lib_reason(void)
{
    const char *last = strrchr(smpp34_strerror, '[');
    return last ? last : smpp34_strerror;
}

/* --- framing ------------------------------------------------------------------ */

ssize_t smpp_frame(const uint8_t *buf, size_t len, size_t max_len)
{
    if (len < 4)
        return -2;
    uint32_t n = get32(buf);
    if (n < SMPP_HEADER_LEN || n > max_len)
        return -1;
    return len < n ? -2 : (ssize_t)n;
}

int smpp_header_read(const uint8_t *buf, size_t len, struct smpp_header *h)
{
    if (len < SMPP_HEADER_LEN)
        return -1;
    h->command_length = get32(buf);
    h->command_id = get32(buf + 4);
    h->command_status = get32(buf + 8);
    h->sequence_number = get32(buf + 12);
    return 0;
}

uint32_t smpp_seq_next(uint32_t seq)
{
    return seq >= SMPP_SEQ_MAX ? 1 : seq + 1;
}

const char *smpp_command_name(uint32_t id)
{
    switch (id) {
    case SMPP_GENERIC_NACK: return "generic_nack";
    case SMPP_BIND_RECEIVER: return "bind_receiver";
    case SMPP_BIND_RECEIVER_RESP: return "bind_receiver_resp";
    case SMPP_BIND_TRANSMITTER: return "bind_transmitter";
    case SMPP_BIND_TRANSMITTER_RESP: return "bind_transmitter_resp";
    case SMPP_BIND_TRANSCEIVER: return "bind_transceiver";
    case SMPP_BIND_TRANSCEIVER_RESP: return "bind_transceiver_resp";
    case SMPP_SUBMIT_SM: return "submit_sm";
    case SMPP_SUBMIT_SM_RESP: return "submit_sm_resp";
    case SMPP_DELIVER_SM: return "deliver_sm";
    case SMPP_DELIVER_SM_RESP: return "deliver_sm_resp";
    case SMPP_DATA_SM: return "data_sm";
    case SMPP_DATA_SM_RESP: return "data_sm_resp";
    case SMPP_UNBIND: return "unbind";
    case SMPP_UNBIND_RESP: return "unbind_resp";
    case SMPP_OUTBIND: return "outbind";
    case SMPP_ENQUIRE_LINK: return "enquire_link";
    case SMPP_ENQUIRE_LINK_RESP: return "enquire_link_resp";
    case SMPP_ALERT_NOTIFICATION: return "alert_notification";
    default: return "unknown";
    }
}

/* --- the guard: mandatory fields and TLVs, by table ---------------------------- */

enum fkind { F_END, F_U8, F_CSTR, F_SM };

struct field {
    enum fkind kind;
    const char *name;
    size_t max;            /* F_CSTR: octets incl. the NUL */
};

#define ADDR_FIELDS(pfx, n) { F_U8, pfx "_ton", 0 }, { F_U8, pfx "_npi", 0 }, \
                            { F_CSTR, pfx, n }

static const struct field f_bind[] = {
    { F_CSTR, "system_id", 16 }, { F_CSTR, "password", 9 },
    { F_CSTR, "system_type", 13 }, { F_U8, "interface_version", 0 },
    { F_U8, "addr_ton", 0 }, { F_U8, "addr_npi", 0 },
    { F_CSTR, "address_range", 41 }, { F_END, NULL, 0 }
};
static const struct field f_system_id[] = { { F_CSTR, "system_id", 16 }, { F_END, NULL, 0 } };
static const struct field f_message_id[] = { { F_CSTR, "message_id", 65 }, { F_END, NULL, 0 } };
static const struct field f_outbind[] = {
    { F_CSTR, "system_id", 16 }, { F_CSTR, "password", 9 }, { F_END, NULL, 0 }
};
/* submit_sm and deliver_sm differ only in the two times (empty in deliver_sm). */
#define SM_FIELDS(tmax) \
    { F_CSTR, "service_type", 6 }, ADDR_FIELDS("source_addr", 21), \
    ADDR_FIELDS("destination_addr", 21), { F_U8, "esm_class", 0 }, \
    { F_U8, "protocol_id", 0 }, { F_U8, "priority_flag", 0 }, \
    { F_CSTR, "schedule_delivery_time", tmax }, { F_CSTR, "validity_period", tmax }, \
    { F_U8, "registered_delivery", 0 }, { F_U8, "replace_if_present_flag", 0 }, \
    { F_U8, "data_coding", 0 }, { F_U8, "sm_default_msg_id", 0 }, \
    { F_SM, "short_message", SMPP_SM_MAX }, { F_END, NULL, 0 }
static const struct field f_submit[] = { SM_FIELDS(17) };
static const struct field f_deliver[] = { SM_FIELDS(1) };
static const struct field f_data_sm[] = {
    { F_CSTR, "service_type", 6 }, ADDR_FIELDS("source_addr", 21),
    ADDR_FIELDS("destination_addr", 65), { F_U8, "esm_class", 0 },
    { F_U8, "registered_delivery", 0 }, { F_U8, "data_coding", 0 }, { F_END, NULL, 0 }
};

struct guard {
    const char *pdu;       /* its name, for reasons */
    const uint8_t *p;
    size_t len, off;
    char *err;
    size_t errsz;
    uint32_t status;       /* the nack status for the reason given */
};

static int guard_fail(struct guard *g, uint32_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int guard_fail(struct guard *g, uint32_t status, const char *fmt, ...)
{
    char what[SMPP_ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    g->status = status;
    return fail(g->err, g->errsz, "%s: %s", g->pdu, what);
}

static int guard_cstr(struct guard *g, const struct field *f)
{
    size_t left = g->len - g->off;
    size_t scan = left < f->max ? left : f->max;
    const uint8_t *nul = memchr(g->p + g->off, 0, scan);

    if (nul) {
        g->off += (size_t)(nul - (g->p + g->off)) + 1;
        return 0;
    }
    if (scan == f->max)
        return guard_fail(g, SMPP_ESME_RINVCMDLEN, "%s longer than %zu octets",
                          f->name, f->max - 1);
    return guard_fail(g, SMPP_ESME_RINVCMDLEN, "PDU ends inside %s", f->name);
}

static int guard_field(struct guard *g, const struct field *f)
{
    size_t left = g->len - g->off;

    switch (f->kind) {
    case F_U8:
        if (left < 1)
            return guard_fail(g, SMPP_ESME_RINVCMDLEN, "PDU ends before %s", f->name);
        g->off++;
        return 0;
    case F_CSTR:
        return guard_cstr(g, f);
    case F_SM:
        if (left < 1)
            return guard_fail(g, SMPP_ESME_RINVCMDLEN, "PDU ends before sm_length");
        if (g->p[g->off] > left - 1)
            return guard_fail(g, SMPP_ESME_RINVMSGLEN,
                              "short_message length %u exceeds the PDU (%zu octets left)",
                              g->p[g->off], left - 1);
        g->off += 1 + g->p[g->off];
        return 0;
    case F_END:
        break;
    }
    return 0;
}

static int guard_fields(struct guard *g, const struct field *f)
{
    for (; f->kind != F_END; f++)
        if (guard_field(g, f) < 0)
            return -1;
    return 0;
}

/* The TLVs we read, with the value lengths they must have. */
static int tlv_store(struct guard *g, uint16_t tag, const uint8_t *v, uint16_t n,
                     struct smpp_pdu *pdu)
{
    struct smpp_sm *sm = &pdu->sm;
    size_t want = 0;

    switch (tag) {
    case TAG_SAR_REF: want = 2; break;
    case TAG_SAR_TOTAL: case TAG_SAR_SEQ: case TAG_MSG_STATE: case TAG_SC_VERSION:
        want = 1; break;
    case TAG_NETWORK_ERR: want = 3; break;
    case TAG_PAYLOAD:
        if (n > SMPP_PAYLOAD_MAX)
            return guard_fail(g, ESME_RINVPARLEN, "message_payload of %u octets, more than %d",
                              n, SMPP_PAYLOAD_MAX);
        sm->has_payload = true;
        sm->payload_len = n;
        memcpy(sm->payload, v, n);
        return 0;
    case TAG_RECEIPTED_ID:
        if (n == 0 || n > SMPP_ID_MAX)
            return guard_fail(g, ESME_RINVPARLEN, "receipted_message_id of %u octets", n);
        sm->has_receipted_id = true;
        memcpy(sm->receipted_message_id, v, n);  /* NUL-terminated or not */
        sm->receipted_message_id[n < SMPP_ID_MAX ? n : SMPP_ID_MAX - 1] = '\0';
        return 0;
    default:
        return 0; /* not ours: skipped */
    }
    if (n != want)
        return guard_fail(g, ESME_RINVPARLEN, "TLV 0x%04X has length %u, expected %zu",
                          tag, n, want);
    switch (tag) {
    case TAG_SAR_REF: sm->sar_msg_ref_num = (uint16_t)(v[0] << 8 | v[1]); break;
    case TAG_SAR_TOTAL: sm->sar_total_segments = v[0]; break;
    case TAG_SAR_SEQ: sm->sar_segment_seqnum = v[0]; break;
    case TAG_MSG_STATE: sm->has_message_state = true; sm->message_state = v[0]; break;
    case TAG_SC_VERSION: pdu->has_sc_version = true; pdu->sc_interface_version = v[0]; break;
    default: sm->has_network_error = true; memcpy(sm->network_error_code, v, 3); break;
    }
    return 0;
}

/* Walks the TLVs from g->off to the end: each must fit exactly. */
static int guard_tlvs(struct guard *g, struct smpp_pdu *pdu)
{
    unsigned sar = 0;

    while (g->off < g->len) {
        size_t left = g->len - g->off;
        const uint8_t *t = g->p + g->off;
        if (left < 4)
            return guard_fail(g, SMPP_ESME_RINVOPTPARSTREAM,
                              "%zu stray octets where a TLV should start", left);
        uint16_t tag = (uint16_t)(t[0] << 8 | t[1]), n = (uint16_t)(t[2] << 8 | t[3]);
        if (n > left - 4)
            return guard_fail(g, SMPP_ESME_RINVOPTPARSTREAM,
                              "TLV 0x%04X length %u exceeds the PDU (%zu octets left)",
                              tag, n, left - 4);
        if (tlv_store(g, tag, t + 4, n, pdu) < 0)
            return -1;
        sar |= tag == TAG_SAR_REF ? 1u : tag == TAG_SAR_TOTAL ? 2u : tag == TAG_SAR_SEQ ? 4u : 0u;
        g->off += 4 + (size_t)n;
    }
    pdu->sm.has_sar = sar == 7;
    return 0;
}

/* --- decoding ------------------------------------------------------------------ */

static void copy_str(char *dst, size_t dstsz, const void *src)
{
    snprintf(dst, dstsz, "%s", (const char *)src);
}

/* Unpacks buf[0..mand) (the header and mandatory fields, all guarded) with
 * libsmpp34 into `raw`, a struct of the type of command_id. */
static int unpack_mandatory(struct guard *g, uint32_t command_id, size_t mand, void *raw,
                            size_t rawsz)
{
    uint8_t copy[SMPP_PDU_MAX];

    if (mand > sizeof copy)
        return guard_fail(g, SMPP_ESME_RINVCMDLEN, "mandatory part too long");
    memcpy(copy, g->p, mand);
    put32(copy, (uint32_t)mand);
    put32(copy + 8, 0);       /* status and sequence are read from the real header */
    put32(copy + 12, 1);
    memset(raw, 0, rawsz);
    int r = smpp34_unpack(command_id, raw, copy, (int)mand);
    /* The first member after the header is never a TLV list, but every
     * type that has one gets it freed by the caller; none is built here,
     * as the copy holds no TLVs. */
    if (r != 0) {
        const char *why = lib_reason();
        return guard_fail(g, SMPP_ESME_RSYSERR, "rejected by libsmpp34 %.80s", why);
    }
    return 0;
}

#define SM_COPY_IN(sm, t) do { \
    copy_str((sm)->service_type, sizeof (sm)->service_type, (t)->service_type); \
    (sm)->source.ton = (t)->source_addr_ton; (sm)->source.npi = (t)->source_addr_npi; \
    copy_str((sm)->source.addr, sizeof (sm)->source.addr, (t)->source_addr); \
    (sm)->dest.ton = (t)->dest_addr_ton; (sm)->dest.npi = (t)->dest_addr_npi; \
    copy_str((sm)->dest.addr, sizeof (sm)->dest.addr, (t)->destination_addr); \
    (sm)->esm_class = (t)->esm_class; \
    (sm)->registered_delivery = (t)->registered_delivery; \
    (sm)->data_coding = (t)->data_coding; \
} while (0)

#define SM_COPY_IN_BODY(sm, t) do { \
    (sm)->protocol_id = (t)->protocol_id; (sm)->priority_flag = (t)->priority_flag; \
    copy_str((sm)->schedule_delivery_time, sizeof (sm)->schedule_delivery_time, \
             (t)->schedule_delivery_time); \
    copy_str((sm)->validity_period, sizeof (sm)->validity_period, (t)->validity_period); \
    (sm)->sm_length = (t)->sm_length; \
    memcpy((sm)->short_message, (t)->short_message, (t)->sm_length); \
} while (0)

static int decode_sm(struct guard *g, uint32_t id, struct smpp_pdu *pdu)
{
    const struct field *f = id == SMPP_SUBMIT_SM ? f_submit
                          : id == SMPP_DELIVER_SM ? f_deliver : f_data_sm;
    union { submit_sm_t s; deliver_sm_t d; data_sm_t x; } raw;

    if (guard_fields(g, f) < 0)
        return -1;
    size_t mand = g->off;
    if (guard_tlvs(g, pdu) < 0)
        return -1;
    if (unpack_mandatory(g, id, mand, &raw, sizeof raw) < 0)
        return -1;
    if (id == SMPP_SUBMIT_SM) {
        SM_COPY_IN(&pdu->sm, &raw.s);
        SM_COPY_IN_BODY(&pdu->sm, &raw.s);
        destroy_tlv(raw.s.tlv);
    } else if (id == SMPP_DELIVER_SM) {
        SM_COPY_IN(&pdu->sm, &raw.d);
        SM_COPY_IN_BODY(&pdu->sm, &raw.d);
        destroy_tlv(raw.d.tlv);
    } else {
        SM_COPY_IN(&pdu->sm, &raw.x);
        destroy_tlv(raw.x.tlv);
    }
    return SMPP_HANDLE;
}

static int decode_bind(struct guard *g, uint32_t id, struct smpp_pdu *pdu)
{
    union { bind_transmitter_t t; bind_receiver_t r; bind_transceiver_t x; } raw;

    if (guard_fields(g, f_bind) < 0)
        return -1;
    if (g->off != g->len)
        return guard_fail(g, SMPP_ESME_RINVCMDLEN, "%zu octets after address_range",
                          g->len - g->off);
    if (unpack_mandatory(g, id, g->len, &raw, sizeof raw) < 0)
        return -1;
    /* The three bind structs share one layout (def_frame/bind_*.frame). */
    struct smpp_bind *b = &pdu->bind;
    copy_str(b->system_id, sizeof b->system_id, raw.t.system_id);
    copy_str(b->password, sizeof b->password, raw.t.password);
    copy_str(b->system_type, sizeof b->system_type, raw.t.system_type);
    b->interface_version = raw.t.interface_version;
    b->addr_ton = raw.t.addr_ton;
    b->addr_npi = raw.t.addr_npi;
    copy_str(b->address_range, sizeof b->address_range, raw.t.address_range);
    return SMPP_HANDLE;
}

/* An error resp: the body is optional and read only as far as it is sound. */
static int decode_error_resp(struct guard *g, const struct field *f, char *dst, size_t dstsz)
{
    size_t start = g->off;

    if (g->len == g->off)
        return SMPP_HANDLE;
    if (guard_cstr(g, f) == 0) {
        copy_str(dst, dstsz, g->p + start);
        return SMPP_HANDLE;
    }
    if (g->err && g->errsz)
        g->err[0] = '\0';     /* an unreadable body on an error resp is no error */
    return SMPP_HANDLE;
}

/* bind_*_resp, submit_sm_resp, data_sm_resp, deliver_sm_resp. */
static int decode_resp(struct guard *g, uint32_t id, struct smpp_pdu *pdu)
{
    bool bind = id != SMPP_SUBMIT_SM_RESP && id != SMPP_DATA_SM_RESP &&
                id != SMPP_DELIVER_SM_RESP;
    const struct field *f = bind ? f_system_id : f_message_id;
    char *dst = bind ? pdu->system_id : pdu->message_id;
    size_t dstsz = bind ? sizeof pdu->system_id : sizeof pdu->message_id;

    pdu->body = g->len > SMPP_HEADER_LEN;
    if (pdu->h.command_status != 0 || id == SMPP_DELIVER_SM_RESP)
        return decode_error_resp(g, f, dst, dstsz);
    if (guard_fields(g, f) < 0)
        return -1;
    size_t mand = g->off;
    if (guard_tlvs(g, pdu) < 0)
        return -1;
    union { submit_sm_resp_t s; data_sm_resp_t d; bind_transmitter_resp_t b;
            bind_receiver_resp_t r; bind_transceiver_resp_t x; } raw;
    if (unpack_mandatory(g, id, mand, &raw, sizeof raw) < 0)
        return -1;
    if (id == SMPP_SUBMIT_SM_RESP) {
        copy_str(dst, dstsz, raw.s.message_id);
    } else if (id == SMPP_DATA_SM_RESP) {
        copy_str(dst, dstsz, raw.d.message_id); /* its frame has no TLV list */
    } else {
        copy_str(dst, dstsz, raw.b.system_id); /* one layout for all three */
        destroy_tlv(raw.b.tlv);
    }
    return SMPP_HANDLE;
}

static int decode_empty(struct guard *g)
{
    if (g->len != SMPP_HEADER_LEN)
        return guard_fail(g, SMPP_ESME_RINVCMDLEN, "%zu octets of body, expected none",
                          g->len - SMPP_HEADER_LEN);
    return SMPP_HANDLE;
}

static int decode_body(struct guard *g, struct smpp_pdu *pdu)
{
    uint32_t id = pdu->h.command_id;

    switch (id) {
    case SMPP_GENERIC_NACK: case SMPP_ENQUIRE_LINK: case SMPP_ENQUIRE_LINK_RESP:
    case SMPP_UNBIND: case SMPP_UNBIND_RESP:
        return decode_empty(g);
    case SMPP_BIND_RECEIVER: case SMPP_BIND_TRANSMITTER: case SMPP_BIND_TRANSCEIVER:
        return decode_bind(g, id, pdu);
    case SMPP_BIND_RECEIVER_RESP: case SMPP_BIND_TRANSMITTER_RESP:
    case SMPP_BIND_TRANSCEIVER_RESP: case SMPP_SUBMIT_SM_RESP: case SMPP_DATA_SM_RESP:
    case SMPP_DELIVER_SM_RESP:
        return decode_resp(g, id, pdu);
    case SMPP_SUBMIT_SM: case SMPP_DELIVER_SM: case SMPP_DATA_SM:
        return decode_sm(g, id, pdu);
    case SMPP_OUTBIND:
        if (guard_fields(g, f_outbind) == 0)
            copy_str(pdu->system_id, sizeof pdu->system_id, g->p + SMPP_HEADER_LEN);
        return SMPP_IGNORE;
    case SMPP_ALERT_NOTIFICATION:
        return SMPP_IGNORE;
    default:
        pdu->nack_status = SMPP_ESME_RINVCMDID;
        return SMPP_NACK;
    }
}

int smpp_decode(const uint8_t *buf, size_t len, struct smpp_pdu *pdu, char *err, size_t errsz)
{
    struct guard g = { "PDU", buf, len, SMPP_HEADER_LEN, err, errsz, SMPP_ESME_RINVCMDLEN };

    memset(pdu, 0, sizeof *pdu);
    if (err && errsz)
        err[0] = '\0';
    pdu->nack_status = SMPP_ESME_RINVCMDLEN;
    if (smpp_header_read(buf, len, &pdu->h) < 0)
        return fail(err, errsz, "PDU: %zu octets, shorter than a header", len);
    if (pdu->h.command_length != len)
        return fail(err, errsz, "PDU: command_length %u but %zu octets given",
                    pdu->h.command_length, len);
    g.pdu = smpp_command_name(pdu->h.command_id);
    int r = decode_body(&g, pdu);
    if (r < 0)
        pdu->nack_status = g.status;
    return r;
}

/* --- encoding ------------------------------------------------------------------ */

static int check_seq(uint32_t id, uint32_t seq, char *err, size_t errsz)
{
    if ((seq == 0 && id != SMPP_GENERIC_NACK) || seq > SMPP_SEQ_MAX)
        return fail(err, errsz, "%s: sequence_number %u outside 1..0x7FFFFFFF",
                    smpp_command_name(id), seq);
    return 0;
}

static int check_str(const char *pdu, const char *name, const char *s, size_t max,
                     char *err, size_t errsz)
{
    size_t n = strnlen(s, max);
    if (n >= max)
        return fail(err, errsz, "%s: %s longer than %zu characters", pdu, name, max - 1);
    return 0;
}

/* Packs `raw` (command_id set, status 0, sequence 1) and writes the real
 * status and sequence into the copy handed back. */
static int pack(uint32_t id, void *raw, uint32_t status, uint32_t seq,
                uint8_t *buf, size_t size, char *err, size_t errsz)
{
    uint8_t tmp[SMPP_PDU_MAX + 1];   /* libsmpp34 wants one spare octet */
    int n = 0;

    if (smpp34_pack(id, tmp, (int)sizeof tmp, &n, raw) != 0) {
        return fail(err, errsz, "%s: libsmpp34 pack failed %.80s", smpp_command_name(id),
                    lib_reason());
    }
    if ((size_t)n > size)
        return fail(err, errsz, "%s: %d octets do not fit a buffer of %zu",
                    smpp_command_name(id), n, size);
    memcpy(buf, tmp, (size_t)n);
    put32(buf + 8, status);
    put32(buf + 12, seq);
    return n;
}

/* The header fields every libsmpp34 struct starts with. */
#define RAW_HEADER(t, id) do { (t)->command_id = (id); (t)->command_status = 0; \
                               (t)->sequence_number = 1; } while (0)

int smpp_encode_bind(uint32_t id, const struct smpp_bind *b, uint32_t seq,
                     uint8_t *buf, size_t size, char *err, size_t errsz)
{
    bind_transceiver_t raw; /* the three bind structs share one layout */
    const char *name = smpp_command_name(id);

    if (id != SMPP_BIND_TRANSMITTER && id != SMPP_BIND_RECEIVER && id != SMPP_BIND_TRANSCEIVER)
        return fail(err, errsz, "bind: command_id 0x%08X is not a bind", id);
    if (check_seq(id, seq, err, errsz) < 0 ||
        check_str(name, "system_id", b->system_id, sizeof raw.system_id, err, errsz) < 0 ||
        check_str(name, "password", b->password, sizeof raw.password, err, errsz) < 0 ||
        check_str(name, "system_type", b->system_type, sizeof raw.system_type, err, errsz) < 0 ||
        check_str(name, "address_range", b->address_range, sizeof raw.address_range,
                  err, errsz) < 0)
        return -1;
    memset(&raw, 0, sizeof raw);
    RAW_HEADER(&raw, id);
    memcpy(raw.system_id, b->system_id, strlen(b->system_id) + 1);
    memcpy(raw.password, b->password, strlen(b->password) + 1);
    memcpy(raw.system_type, b->system_type, strlen(b->system_type) + 1);
    memcpy(raw.address_range, b->address_range, strlen(b->address_range) + 1);
    raw.interface_version = b->interface_version ? b->interface_version : SMPP_VERSION;
    raw.addr_ton = b->addr_ton;
    raw.addr_npi = b->addr_npi;
    return pack(id, &raw, 0, seq, buf, size, err, errsz);
}

/* TLV nodes on the caller's stack, linked in wire order. */
struct tlvs {
    tlv_t node[6];
    unsigned n;
};

static void tlv_add(struct tlvs *t, uint16_t tag, uint16_t len, const void *v)
{
    tlv_t *x = &t->node[t->n];

    memset(x, 0, sizeof *x);
    x->tag = tag;
    x->length = len;
    if (len == 1)
        x->value.val08 = *(const uint8_t *)v;
    else if (tag == TAG_SAR_REF)
        x->value.val16 = *(const uint16_t *)v;
    else
        memcpy(x->value.octet, v, len);
    if (t->n > 0)
        t->node[t->n - 1].next = x;
    t->n++;
}

static tlv_t *sm_tlvs(const struct smpp_sm *sm, struct tlvs *t)
{
    t->n = 0;
    if (sm->has_sar) {
        tlv_add(t, TAG_SAR_REF, 2, &sm->sar_msg_ref_num);
        tlv_add(t, TAG_SAR_TOTAL, 1, &sm->sar_total_segments);
        tlv_add(t, TAG_SAR_SEQ, 1, &sm->sar_segment_seqnum);
    }
    if (sm->has_payload)
        tlv_add(t, TAG_PAYLOAD, sm->payload_len, sm->payload);
    if (sm->has_receipted_id)
        tlv_add(t, TAG_RECEIPTED_ID, (uint16_t)(strlen(sm->receipted_message_id) + 1),
                sm->receipted_message_id);
    if (sm->has_message_state)
        tlv_add(t, TAG_MSG_STATE, 1, &sm->message_state);
    return t->n ? &t->node[0] : NULL;
}

static int check_sm(uint32_t id, const struct smpp_sm *sm, char *err, size_t errsz)
{
    const char *name = smpp_command_name(id);
    size_t tmax = id == SMPP_SUBMIT_SM ? 17 : 1;
    size_t dmax = id == SMPP_DATA_SM ? 65 : 21;

    if (check_str(name, "service_type", sm->service_type, 6, err, errsz) < 0 ||
        check_str(name, "source_addr", sm->source.addr, 21, err, errsz) < 0 ||
        check_str(name, "destination_addr", sm->dest.addr, dmax, err, errsz) < 0)
        return -1;
    if (id != SMPP_DATA_SM &&
        (check_str(name, "schedule_delivery_time", sm->schedule_delivery_time, tmax,
                   err, errsz) < 0 ||
         check_str(name, "validity_period", sm->validity_period, tmax, err, errsz) < 0))
        return -1;
    if (sm->sm_length > SMPP_SM_PACK_MAX)
        return fail(err, errsz, "%s: short_message of %u octets, at most %d can be sent",
                    name, sm->sm_length, SMPP_SM_PACK_MAX);
    if (sm->has_payload && (sm->sm_length > 0 || sm->payload_len > SMPP_PAYLOAD_MAX))
        return fail(err, errsz, "%s: message_payload of %u octets with short_message of %u",
                    name, sm->payload_len, sm->sm_length);
    if (id == SMPP_DATA_SM && sm->sm_length > 0)
        return fail(err, errsz, "data_sm: text goes in message_payload");
    return 0;
}

#define SM_COPY_OUT(t, sm) do { \
    memcpy((t)->service_type, (sm)->service_type, strlen((sm)->service_type) + 1); \
    (t)->source_addr_ton = (sm)->source.ton; (t)->source_addr_npi = (sm)->source.npi; \
    memcpy((t)->source_addr, (sm)->source.addr, strlen((sm)->source.addr) + 1); \
    (t)->dest_addr_ton = (sm)->dest.ton; (t)->dest_addr_npi = (sm)->dest.npi; \
    memcpy((t)->destination_addr, (sm)->dest.addr, strlen((sm)->dest.addr) + 1); \
    (t)->esm_class = (sm)->esm_class; \
    (t)->registered_delivery = (sm)->registered_delivery; \
    (t)->data_coding = (sm)->data_coding; \
} while (0)

#define SM_COPY_OUT_BODY(t, sm) do { \
    (t)->protocol_id = (sm)->protocol_id; (t)->priority_flag = (sm)->priority_flag; \
    memcpy((t)->schedule_delivery_time, (sm)->schedule_delivery_time, \
           strlen((sm)->schedule_delivery_time) + 1); \
    memcpy((t)->validity_period, (sm)->validity_period, strlen((sm)->validity_period) + 1); \
    (t)->sm_length = (sm)->sm_length; \
    memcpy((t)->short_message, (sm)->short_message, (sm)->sm_length); \
} while (0)

/*
 * submit_sm and deliver_sm are written here rather than by libsmpp34, whose
 * pack formats every field into its error log with snprintf: that was most of
 * the encoding cost of each message sent. The octets are the same (a unit
 * test packs random messages both ways and compares). What the library
 * checks beyond check_sm() is that it knows each TON and NPI; an address
 * with a code it does not know still goes through it, so the refusal and
 * its wording stay the library's.
 */
static bool addr_codes_known(const struct smpp_addr *a)
{
    static int8_t ton_known[256], npi_known[256]; /* 0: not asked yet, 1 yes, -1 no */
    char name[SMALL_BUFF];

    if (!ton_known[a->ton])
        ton_known[a->ton] = *str_addr_ton(a->ton, name) ? 1 : -1;
    if (!npi_known[a->npi])
        npi_known[a->npi] = *str_addr_npi(a->npi, name) ? 1 : -1;
    return ton_known[a->ton] > 0 && npi_known[a->npi] > 0;
}

static uint8_t *put_cstr(uint8_t *p, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(p, s, n);
    return p + n;
}

static uint8_t *put_tlv(uint8_t *p, uint16_t tag, uint16_t len, const void *v)
{
    *p++ = (uint8_t)(tag >> 8);
    *p++ = (uint8_t)tag;
    *p++ = (uint8_t)(len >> 8);
    *p++ = (uint8_t)len;
    memcpy(p, v, len);
    return p + len;
}

/* The TLVs of sm_tlvs(), in its order. */
static uint8_t *put_sm_tlvs(uint8_t *p, const struct smpp_sm *sm)
{
    if (sm->has_sar) {
        uint8_t ref[2] = { (uint8_t)(sm->sar_msg_ref_num >> 8), (uint8_t)sm->sar_msg_ref_num };
        p = put_tlv(p, TAG_SAR_REF, 2, ref);
        p = put_tlv(p, TAG_SAR_TOTAL, 1, &sm->sar_total_segments);
        p = put_tlv(p, TAG_SAR_SEQ, 1, &sm->sar_segment_seqnum);
    }
    if (sm->has_payload)
        p = put_tlv(p, TAG_PAYLOAD, sm->payload_len, sm->payload);
    if (sm->has_receipted_id)
        p = put_tlv(p, TAG_RECEIPTED_ID, (uint16_t)(strlen(sm->receipted_message_id) + 1),
                    sm->receipted_message_id);
    if (sm->has_message_state)
        p = put_tlv(p, TAG_MSG_STATE, 1, &sm->message_state);
    return p;
}

/* A checked submit_sm or deliver_sm (check_sm, addr_codes_known) into buf. */
static int write_sm(uint32_t id, const struct smpp_sm *sm, uint32_t seq,
                    uint8_t *buf, size_t size, char *err, size_t errsz)
{
    uint8_t tmp[SMPP_PDU_MAX]; /* the longest possible is under 1,500 octets */
    uint8_t *p = tmp + SMPP_HEADER_LEN;

    p = put_cstr(p, sm->service_type);
    *p++ = sm->source.ton;
    *p++ = sm->source.npi;
    p = put_cstr(p, sm->source.addr);
    *p++ = sm->dest.ton;
    *p++ = sm->dest.npi;
    p = put_cstr(p, sm->dest.addr);
    *p++ = sm->esm_class;
    *p++ = sm->protocol_id;
    *p++ = sm->priority_flag;
    p = put_cstr(p, sm->schedule_delivery_time);
    p = put_cstr(p, sm->validity_period);
    *p++ = sm->registered_delivery;
    *p++ = 0; /* replace_if_present_flag */
    *p++ = sm->data_coding;
    *p++ = 0; /* sm_default_msg_id */
    *p++ = sm->sm_length;
    memcpy(p, sm->short_message, sm->sm_length);
    p = put_sm_tlvs(p + sm->sm_length, sm);
    size_t n = (size_t)(p - tmp);
    if (n > size)
        return fail(err, errsz, "%s: %zu octets do not fit a buffer of %zu",
                    smpp_command_name(id), n, size);
    put32(tmp, (uint32_t)n);
    put32(tmp + 4, id);
    put32(tmp + 8, 0);
    put32(tmp + 12, seq);
    memcpy(buf, tmp, n);
    return (int)n;
}

int smpp_encode_sm(uint32_t id, const struct smpp_sm *sm, uint32_t seq,
                   uint8_t *buf, size_t size, char *err, size_t errsz)
{
    if (id != SMPP_SUBMIT_SM && id != SMPP_DELIVER_SM && id != SMPP_DATA_SM)
        return fail(err, errsz, "sm: command_id 0x%08X is not submit_sm/deliver_sm/data_sm", id);
    if (check_seq(id, seq, err, errsz) < 0 || check_sm(id, sm, err, errsz) < 0)
        return -1;
    if (id != SMPP_DATA_SM && addr_codes_known(&sm->source) && addr_codes_known(&sm->dest))
        return write_sm(id, sm, seq, buf, size, err, errsz);
    return smpp_encode_sm_lib(id, sm, seq, buf, size, err, errsz);
}

int smpp_encode_sm_lib(uint32_t id, const struct smpp_sm *sm, uint32_t seq,
                       uint8_t *buf, size_t size, char *err, size_t errsz)
{
    union { submit_sm_t s; deliver_sm_t d; data_sm_t x; } raw;
    struct tlvs t;

    if (id != SMPP_SUBMIT_SM && id != SMPP_DELIVER_SM && id != SMPP_DATA_SM)
        return fail(err, errsz, "sm: command_id 0x%08X is not submit_sm/deliver_sm/data_sm", id);
    if (check_seq(id, seq, err, errsz) < 0 || check_sm(id, sm, err, errsz) < 0)
        return -1;
    memset(&raw, 0, sizeof raw);
    if (id == SMPP_SUBMIT_SM) {
        RAW_HEADER(&raw.s, id);
        SM_COPY_OUT(&raw.s, sm);
        SM_COPY_OUT_BODY(&raw.s, sm);
        raw.s.tlv = sm_tlvs(sm, &t);
    } else if (id == SMPP_DELIVER_SM) {
        RAW_HEADER(&raw.d, id);
        SM_COPY_OUT(&raw.d, sm);
        SM_COPY_OUT_BODY(&raw.d, sm);
        raw.d.tlv = sm_tlvs(sm, &t);
    } else {
        RAW_HEADER(&raw.x, id);
        SM_COPY_OUT(&raw.x, sm);
        raw.x.tlv = sm_tlvs(sm, &t);
    }
    return pack(id, &raw, 0, seq, buf, size, err, errsz);
}

static int encode_header_only(uint32_t id, uint32_t status, uint32_t seq,
                              uint8_t *buf, size_t size, char *err, size_t errsz)
{
    if (size < SMPP_HEADER_LEN)
        return fail(err, errsz, "%s: buffer of %zu octets", smpp_command_name(id), size);
    put32(buf, SMPP_HEADER_LEN);
    put32(buf + 4, id);
    put32(buf + 8, status);
    put32(buf + 12, seq);
    return SMPP_HEADER_LEN;
}

static int encode_id_resp(uint32_t id, uint32_t status, const char *mid, uint32_t seq,
                          uint8_t *buf, size_t size, char *err, size_t errsz)
{
    union { submit_sm_resp_t s; data_sm_resp_t d; bind_transceiver_resp_t b; } raw;
    bool bind = id != SMPP_SUBMIT_SM_RESP && id != SMPP_DATA_SM_RESP;
    size_t max = bind ? sizeof raw.b.system_id : SMPP_ID_MAX;

    if (!mid)
        mid = "";
    if (check_str(smpp_command_name(id), bind ? "system_id" : "message_id", mid, max,
                  err, errsz) < 0)
        return -1;
    /* SMPP 3.4 4.1.2, 4.4.2: no body on a failed bind or submit. */
    if (status != 0 && id != SMPP_DATA_SM_RESP)
        return encode_header_only(id, status, seq, buf, size, err, errsz);
    memset(&raw, 0, sizeof raw);
    if (id == SMPP_SUBMIT_SM_RESP) {
        RAW_HEADER(&raw.s, id);
        memcpy(raw.s.message_id, mid, strlen(mid) + 1);
    } else if (id == SMPP_DATA_SM_RESP) {
        RAW_HEADER(&raw.d, id);
        memcpy(raw.d.message_id, mid, strlen(mid) + 1);
    } else {
        RAW_HEADER(&raw.b, id);
        memcpy(raw.b.system_id, mid, strlen(mid) + 1);
    }
    return pack(id, &raw, status, seq, buf, size, err, errsz);
}

int smpp_encode_resp(uint32_t id, uint32_t status, const char *message_id, uint32_t seq,
                     uint8_t *buf, size_t size, char *err, size_t errsz)
{
    if (check_seq(id, seq, err, errsz) < 0)
        return -1;
    switch (id) {
    case SMPP_ENQUIRE_LINK_RESP: case SMPP_UNBIND_RESP: case SMPP_GENERIC_NACK:
        return encode_header_only(id, status, seq, buf, size, err, errsz);
    case SMPP_DELIVER_SM_RESP: {
        deliver_sm_resp_t raw;
        memset(&raw, 0, sizeof raw);
        RAW_HEADER(&raw, id);
        return pack(id, &raw, status, seq, buf, size, err, errsz);
    }
    case SMPP_SUBMIT_SM_RESP: case SMPP_DATA_SM_RESP: case SMPP_BIND_TRANSMITTER_RESP:
    case SMPP_BIND_RECEIVER_RESP: case SMPP_BIND_TRANSCEIVER_RESP:
        return encode_id_resp(id, status, message_id, seq, buf, size, err, errsz);
    default:
        return fail(err, errsz, "resp: command_id 0x%08X is not a resp we send", id);
    }
}

int smpp_encode_simple(uint32_t id, uint32_t seq, uint8_t *buf, size_t size,
                       char *err, size_t errsz)
{
    if (id != SMPP_ENQUIRE_LINK && id != SMPP_UNBIND)
        return fail(err, errsz, "simple: command_id 0x%08X is not enquire_link or unbind", id);
    if (check_seq(id, seq, err, errsz) < 0)
        return -1;
    enquire_link_t raw; /* unbind_t has the same header-only layout */
    memset(&raw, 0, sizeof raw);
    RAW_HEADER(&raw, id);
    return pack(id, &raw, 0, seq, buf, size, err, errsz);
}

/* --- addresses and validity ----------------------------------------------------- */

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

int smpp_addr_from_text(const char *text, struct smpp_addr *out, char *err, size_t errsz)
{
    size_t n = strlen(text);

    memset(out, 0, sizeof *out);
    if (n == 0)
        return fail(err, errsz, "address: empty");
    if (text[0] == '+' && all_digits(text + 1)) {
        if (n - 1 > 20)
            return fail(err, errsz, "address: %zu digits, at most 20", n - 1);
        out->ton = 1;
        out->npi = 1;
        memcpy(out->addr, text + 1, n);
        return 0;
    }
    if (all_digits(text)) {
        if (n > 20)
            return fail(err, errsz, "address: %zu digits, at most 20", n);
        out->npi = 1;
        memcpy(out->addr, text, n + 1);
        return 0;
    }
    if (n > 11)
        return fail(err, errsz, "address: alphanumeric sender \"%s\" longer than 11", text);
    out->ton = 5;
    memcpy(out->addr, text, n + 1);
    return 0;
}

void smpp_validity_relative(uint64_t s, char out[17])
{
    const uint64_t year = 365ull * 86400, month = 30ull * 86400;
    unsigned yy, mo, dd, hh, mi, ss;

    if (s > 99 * year)
        s = 99 * year;
    yy = (unsigned)(s / year); s %= year;
    mo = (unsigned)(s / month); s %= month;
    dd = (unsigned)(s / 86400); s %= 86400;
    hh = (unsigned)(s / 3600); s %= 3600;
    mi = (unsigned)(s / 60);
    ss = (unsigned)(s % 60);
    snprintf(out, 17, "%02u%02u%02u%02u%02u%02u000R", yy % 100, mo % 100, dd % 100,
             hh % 100, mi % 100, ss % 100);
}
