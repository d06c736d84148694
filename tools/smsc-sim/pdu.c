/*
 * pdu: the only file of smsc-sim that includes libsmpp34.
 *
 * The caller frames PDUs itself (conn.c reads the 4-byte length, bounds it
 * and hands over exactly one frame), because libsmpp34's unpack trusts the
 * command_length inside the buffer. Every unpack starts from a zeroed struct
 * (the library prepends TLVs to whatever is there) and ends with destroy_tlv,
 * failed ones too. The struct type is chosen from command_id by the caller;
 * smpp34_unpack2 is never used on outside input.
 *
 * Pack is given one byte less than the buffer: it needs one spare byte.
 *
 * Header-only PDUs (generic_nack, enquire_link_resp, error responses) are
 * written by hand: the library rejects command_status values it does not
 * know, and there is nothing in them to get wrong.
 */
#include "sim.h"

#include <stdio.h>
#include <string.h>

#include <smpp34.h>
#include <smpp34_structs.h>
#include <smpp34_params.h>

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

void pdu_header_read(const uint8_t *buf, struct pdu_header *h)
{
    h->length = get32(buf);
    h->id = get32(buf + 4);
    h->status = get32(buf + 8);
    h->seq = get32(buf + 12);
}

void pdu_header_write(uint8_t *out, uint32_t id, uint32_t status, uint32_t seq)
{
    put32(out, PDU_HEADER_LEN);
    put32(out + 4, id);
    put32(out + 8, status);
    put32(out + 12, seq);
}

static void copy_str(char *dst, size_t size, const uint8_t *src)
{
    snprintf(dst, size, "%s", (const char *)src);
}

/* Copies a C string into a fixed libsmpp34 field, truncating to fit. */
static void copy_field(uint8_t *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void fail(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "%s: %.200s", what, smpp34_strerror);
}

int pdu_unpack_bind(const uint8_t *buf, size_t len, struct sim_bind *out,
                    char *err, size_t errlen)
{
    /* The three bind bodies have the same layout and no TLVs;
     * bind_transceiver_t holds all of them, the type taken from the header. */
    bind_transceiver_t b;
    struct pdu_header h;
    pdu_header_read(buf, &h);
    memset(&b, 0, sizeof b);
    int rc = smpp34_unpack(h.id, &b, buf, (int)len);
    if (rc != 0)
        fail(err, errlen, "bind");
    else {
        copy_str(out->system_id, sizeof out->system_id, b.system_id);
        copy_str(out->password, sizeof out->password, b.password);
        copy_str(out->system_type, sizeof out->system_type, b.system_type);
    }
    return rc == 0 ? 0 : -1;
}

static void read_tlvs(struct sim_sm *out, tlv_t *list)
{
    tlv_t *t;
    smpp34_tlv_for_each(t, list) {
        switch (t->tag) {
        case TLVID_message_payload:
            out->has_payload = true;
            out->payload_len = t->length <= sizeof out->payload ? t->length : sizeof out->payload;
            memcpy(out->payload, t->value.octet, out->payload_len);
            break;
        case TLVID_sar_msg_ref_num:
            out->has_sar = true;
            out->sar_ref = t->value.val16;
            break;
        case TLVID_sar_total_segments:
            out->has_sar = true;
            out->sar_total = t->value.val08;
            break;
        case TLVID_sar_segment_seqnum:
            out->has_sar = true;
            out->sar_seq = t->value.val08;
            break;
        default:
            break;
        }
    }
}

#define COPY_ADDR(dst, p, side)                                                \
    do {                                                                       \
        (dst).ton = (p).side##_addr_ton;                                       \
        (dst).npi = (p).side##_addr_npi;                                       \
    } while (0)

static int unpack_submit(const uint8_t *buf, size_t len, struct sim_sm *out,
                         char *err, size_t errlen)
{
    submit_sm_t p;
    memset(&p, 0, sizeof p);
    int rc = smpp34_unpack(SUBMIT_SM, &p, buf, (int)len);
    if (rc != 0) {
        fail(err, errlen, "submit_sm");
        destroy_tlv(p.tlv);
        return -1;
    }
    copy_str(out->service_type, sizeof out->service_type, p.service_type);
    COPY_ADDR(out->src, p, source);
    copy_str(out->src.addr, sizeof out->src.addr, p.source_addr);
    COPY_ADDR(out->dst, p, dest);
    copy_str(out->dst.addr, sizeof out->dst.addr, p.destination_addr);
    out->esm_class = p.esm_class;
    out->protocol_id = p.protocol_id;
    out->priority = p.priority_flag;
    copy_str(out->schedule, sizeof out->schedule, p.schedule_delivery_time);
    copy_str(out->validity, sizeof out->validity, p.validity_period);
    out->registered_delivery = p.registered_delivery;
    out->data_coding = p.data_coding;
    out->sm_len = p.sm_length;
    memcpy(out->sm, p.short_message, p.sm_length);
    read_tlvs(out, p.tlv);
    destroy_tlv(p.tlv);
    return 0;
}

static int unpack_data(const uint8_t *buf, size_t len, struct sim_sm *out,
                       char *err, size_t errlen)
{
    data_sm_t p;
    memset(&p, 0, sizeof p);
    int rc = smpp34_unpack(DATA_SM, &p, buf, (int)len);
    if (rc != 0) {
        fail(err, errlen, "data_sm");
        destroy_tlv(p.tlv);
        return -1;
    }
    copy_str(out->service_type, sizeof out->service_type, p.service_type);
    COPY_ADDR(out->src, p, source);
    copy_str(out->src.addr, sizeof out->src.addr, p.source_addr);
    COPY_ADDR(out->dst, p, dest);
    copy_str(out->dst.addr, sizeof out->dst.addr, p.destination_addr);
    out->esm_class = p.esm_class;
    out->registered_delivery = p.registered_delivery;
    out->data_coding = p.data_coding;
    read_tlvs(out, p.tlv);
    destroy_tlv(p.tlv);
    return 0;
}

/*
 * Pre-validation. libsmpp34 leaks the node of a TLV it fails to parse, so the
 * body is walked here first with a bounds-checked cursor: mandatory fields,
 * then every TLV's header, length and (for the tags libsmpp34 reads as
 * integers or bounded octets) size. Only a body that passes goes to
 * smpp34_unpack; one that fails gets a command_status and never reaches it.
 */
struct cursor {
    const uint8_t *p;
    size_t left;
    bool bad;
};

static void cur_skip(struct cursor *c, size_t n)
{
    if (c->bad || n > c->left) {
        c->bad = true;
        return;
    }
    c->p += n;
    c->left -= n;
}

static uint8_t cur_u8(struct cursor *c)
{
    uint8_t v = c->bad || c->left == 0 ? 0 : c->p[0];
    cur_skip(c, 1);
    return v;
}

/* A C-octet string of at most max octets including its NUL. */
static void cur_cstr(struct cursor *c, size_t max)
{
    size_t limit = c->left < max ? c->left : max;
    const uint8_t *nul = c->bad ? NULL : memchr(c->p, 0, limit);
    if (!nul) {
        c->bad = true;
        return;
    }
    cur_skip(c, (size_t)(nul - c->p) + 1);
}

/* What libsmpp34 expects of a TLV's length: exact for integers (1, 2, 4),
 * an upper bound for octets (negative: -max). */
static int tlv_rule(uint16_t tag)
{
    switch (tag) {
    case 0x0005: case 0x0006: case 0x0007: case 0x000D: case 0x000E:
    case 0x000F: case 0x0010: case 0x0019: case 0x0030: case 0x0201:
    case 0x0205: case 0x020D: case 0x020E: case 0x020F: case 0x0302:
    case 0x0304: case 0x0421: case 0x0426: case 0x0427: case 0x1201:
    case 0x1204: case 0x1380:
        return 1;
    case 0x0008: case 0x0204: case 0x020A: case 0x020B: case 0x020C:
    case 0x1203: case 0x1383:
        return 2;
    case 0x0017:
        return 4;
    case 0x001E: case 0x0303:
        return -65;
    case 0x0381:
        return -19;
    case 0x0202: case 0x0203:
        return -23;
    case 0x0423:
        return -3;
    case 0x0501:
        return -1;
    case 0x130C:
        return 0;
    default:
        return -1024;
    }
}

static uint32_t check_tlvs(struct cursor *c)
{
    while (!c->bad && c->left > 0) {
        if (c->left < 4)
            return ST_INVOPTPARSTREAM;
        uint16_t tag = (uint16_t)(c->p[0] << 8 | c->p[1]);
        size_t len = (size_t)(c->p[2] << 8 | c->p[3]);
        int rule = tlv_rule(tag);
        cur_skip(c, 4);
        if (len > c->left)
            return ST_INVOPTPARSTREAM;
        if (rule >= 0 ? len != (size_t)rule : len > (size_t)-rule)
            return ST_INVPARLEN;
        cur_skip(c, len);
    }
    return c->bad ? ST_INVOPTPARSTREAM : ST_OK;
}

static uint32_t precheck(uint32_t id, const uint8_t *buf, size_t len)
{
    struct cursor c = { buf + PDU_HEADER_LEN, len - PDU_HEADER_LEN, false };
    bool submit = id == CMD_SUBMIT_SM;
    cur_cstr(&c, 6);
    cur_skip(&c, 2);
    cur_cstr(&c, 21);
    cur_skip(&c, 2);
    cur_cstr(&c, submit ? 21 : 65);
    if (submit) {
        cur_skip(&c, 3);
        cur_cstr(&c, 17);
        cur_cstr(&c, 17);
        cur_skip(&c, 4);
        uint8_t sm_len = cur_u8(&c);
        if (!c.bad && sm_len > c.left)
            return ST_INVMSGLEN;
        cur_skip(&c, sm_len);
    } else {
        cur_skip(&c, 3);
    }
    if (c.bad)
        return ST_INVCMDLEN;
    return check_tlvs(&c);
}

int pdu_unpack_sm(const uint8_t *buf, size_t len, struct sim_sm *out,
                  char *err, size_t errlen)
{
    struct pdu_header h;
    pdu_header_read(buf, &h);
    memset(out, 0, sizeof *out);
    uint32_t status = h.id == CMD_SUBMIT_SM || h.id == CMD_DATA_SM ? precheck(h.id, buf, len)
                                                                   : ST_OK;
    if (status != ST_OK) {
        snprintf(err, errlen, "command_id 0x%08x: malformed body (status 0x%02x)",
                 (unsigned)h.id, (unsigned)status);
        return (int)status;
    }
    if (h.id == CMD_SUBMIT_SM)
        return unpack_submit(buf, len, out, err, errlen);
    if (h.id == CMD_DATA_SM)
        return unpack_data(buf, len, out, err, errlen);
    snprintf(err, errlen, "command_id 0x%08x is not a message", (unsigned)h.id);
    return -1;
}

int pdu_pack_bind_resp(uint32_t id, uint32_t seq, const char *system_id,
                       uint8_t *out, size_t outsize)
{
    bind_transceiver_resp_t r;
    int len = 0;
    memset(&r, 0, sizeof r);
    r.command_id = id;
    r.sequence_number = seq;
    copy_field(r.system_id, sizeof r.system_id, system_id);
    if (smpp34_pack(id, out, (int)outsize - 1, &len, &r) != 0)
        return -1;
    return len;
}

int pdu_pack_message_id_resp(uint32_t id, uint32_t seq, const char *message_id,
                             uint8_t *out, size_t outsize)
{
    submit_sm_resp_t r; /* data_sm_resp_t has the same layout */
    int len = 0;
    memset(&r, 0, sizeof r);
    r.command_id = id;
    r.sequence_number = seq;
    copy_field(r.message_id, sizeof r.message_id, message_id);
    if (smpp34_pack(id, out, (int)outsize - 1, &len, &r) != 0)
        return -1;
    return len;
}

static void add_tlv(tlv_t **list, uint16_t tag, uint16_t length,
                    const void *octets, uint8_t val08, uint16_t val16)
{
    tlv_t t;
    memset(&t, 0, sizeof t);
    t.tag = tag;
    t.length = length;
    if (octets)
        memcpy(t.value.octet, octets, length);
    else if (length == 1)
        t.value.val08 = val08;
    else
        t.value.val16 = val16;
    build_tlv(list, &t);
}

/* TLVs are prepended by build_tlv: added in reverse of the wire order. */
static void deliver_tlvs(deliver_sm_t *p, const struct sim_sm *sm)
{
    if (sm->has_state)
        add_tlv(&p->tlv, TLVID_message_state, 1, NULL, sm->message_state, 0);
    if (sm->receipted_id[0])
        add_tlv(&p->tlv, TLVID_receipted_message_id,
                (uint16_t)(strlen(sm->receipted_id) + 1), sm->receipted_id, 0, 0);
    if (sm->has_payload)
        add_tlv(&p->tlv, TLVID_message_payload, (uint16_t)sm->payload_len,
                sm->payload, 0, 0);
    if (sm->has_sar) {
        add_tlv(&p->tlv, TLVID_sar_segment_seqnum, 1, NULL, sm->sar_seq, 0);
        add_tlv(&p->tlv, TLVID_sar_total_segments, 1, NULL, sm->sar_total, 0);
        add_tlv(&p->tlv, TLVID_sar_msg_ref_num, 2, NULL, 0, sm->sar_ref);
    }
}

int pdu_pack_deliver_sm(uint32_t seq, const struct sim_sm *sm, uint8_t *out,
                        size_t outsize, char *err, size_t errlen)
{
    deliver_sm_t p;
    int len = 0;
    if (sm->sm_len > 253) {
        snprintf(err, errlen, "short_message too long (%zu)", sm->sm_len);
        return -1;
    }
    memset(&p, 0, sizeof p);
    p.command_id = DELIVER_SM;
    p.sequence_number = seq;
    copy_field(p.service_type, sizeof p.service_type, sm->service_type);
    p.source_addr_ton = sm->src.ton;
    p.source_addr_npi = sm->src.npi;
    copy_field(p.source_addr, sizeof p.source_addr, sm->src.addr);
    p.dest_addr_ton = sm->dst.ton;
    p.dest_addr_npi = sm->dst.npi;
    copy_field(p.destination_addr, sizeof p.destination_addr, sm->dst.addr);
    p.esm_class = sm->esm_class;
    p.protocol_id = sm->protocol_id;
    p.data_coding = sm->data_coding;
    p.sm_length = (uint8_t)sm->sm_len;
    memcpy(p.short_message, sm->sm, sm->sm_len);
    deliver_tlvs(&p, sm);
    int rc = smpp34_pack(DELIVER_SM, out, (int)outsize - 1, &len, &p);
    if (rc != 0)
        fail(err, errlen, "deliver_sm");
    destroy_tlv(p.tlv);
    return rc == 0 ? len : -1;
}
