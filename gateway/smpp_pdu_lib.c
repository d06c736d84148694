/*
 * smpp_pdu_lib: the codec as it was while libsmpp34 packed and unpacked, for
 * the identity tests only (tests/unit/test_smpp_pdu.c, tests/fuzz): nothing
 * at run time calls these. See smpp_pdu.c for why homing no longer does.
 */
#include "gateway/smpp_pdu.h"
#include "gateway/smpp_pdu_priv.h"

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

/*
 * The codec as it was while libsmpp34 packed and unpacked: nothing at run
 * time calls these. The unit tests hold the code above to them, octet for
 * octet and field for field, on thousands of random PDUs. They unpack from
 * a private copy that holds the guarded mandatory part alone, with
 * command_length, command_status and sequence_number patched to values the
 * library accepts (TLVs never reach it), and pack with status 0 and
 * sequence 1 into a buffer one octet larger than needed (it wants the
 * spare), writing the real status and sequence afterwards.
 */

/* libsmpp34 logs every field into smpp34_strerror, "[name:value(verdict)]";
 * the failing field is the last entry. */
static const char *strerror_lib(void)
{
    const char *last = strrchr(smpp34_strerror, '[');
    return last ? last : smpp34_strerror;
}

/* Unpacks g->p[0..mand) into `raw`, a struct of the type of command_id. */
static int unpack_mandatory_lib(struct smpp_guard *g, uint32_t command_id, size_t mand, void *raw,
                                size_t rawsz)
{
    uint8_t copy[SMPP_PDU_MAX];

    if (mand > sizeof copy)
        return smpp_guard_fail(g, SMPP_ESME_RINVCMDLEN, "mandatory part too long");
    memcpy(copy, g->p, mand);
    smpp_put32(copy, (uint32_t)mand);
    smpp_put32(copy + 8, 0);
    smpp_put32(copy + 12, 1);
    memset(raw, 0, rawsz);
    int r = smpp34_unpack(command_id, raw, copy, (int)mand);
    /* The copy holds no TLVs, so no list is built; the callers free one
     * all the same, as the library's rules say. */
    if (r != 0)
        return smpp_guard_fail(g, SMPP_ESME_RSYSERR, "rejected by libsmpp34 %.80s", strerror_lib());
    return 0;
}

#define SM_COPY_IN(sm, t) do { \
    smpp_copy_str((sm)->service_type, sizeof (sm)->service_type, (t)->service_type); \
                  (sm)->source.ton = (t)->source_addr_ton; (sm)->source.npi = (t)->source_addr_npi; \
                  smpp_copy_str((sm)->source.addr, sizeof (sm)->source.addr, (t)->source_addr); \
                                (sm)->dest.ton = (t)->dest_addr_ton; (sm)->dest.npi = (t)->dest_addr_npi; \
                                smpp_copy_str((sm)->dest.addr, sizeof (sm)->dest.addr, (t)->destination_addr); \
                                              (sm)->esm_class = (t)->esm_class; \
                                              (sm)->registered_delivery = (t)->registered_delivery; \
                                              (sm)->data_coding = (t)->data_coding; \
} while (0)

#define SM_COPY_IN_BODY(sm, t) do { \
    (sm)->protocol_id = (t)->protocol_id; (sm)->priority_flag = (t)->priority_flag; \
    smpp_copy_str((sm)->schedule_delivery_time, sizeof (sm)->schedule_delivery_time, \
                  (t)->schedule_delivery_time); \
                  smpp_copy_str((sm)->validity_period, sizeof (sm)->validity_period, (t)->validity_period); \
                                (sm)->sm_length = (t)->sm_length; \
                                memcpy((sm)->short_message, (t)->short_message, (t)->sm_length); \
} while (0)

static int decode_sm_lib(struct smpp_guard *g, uint32_t id, struct smpp_pdu *pdu)
{
    union { submit_sm_t s; deliver_sm_t d; data_sm_t x; } raw;

    if (smpp_guard_sm(g, id, pdu) < 0 || unpack_mandatory_lib(g, id, g->mand, &raw, sizeof raw) < 0)
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

static int decode_bind_lib(struct smpp_guard *g, uint32_t id, struct smpp_pdu *pdu)
{
    union { bind_transmitter_t t; bind_receiver_t r; bind_transceiver_t x; } raw;

    if (smpp_guard_bind(g) < 0 || unpack_mandatory_lib(g, id, g->len, &raw, sizeof raw) < 0)
        return -1;
    /* The three bind structs share one layout (def_frame/bind_*.frame). */
    struct smpp_bind *b = &pdu->bind;
    smpp_copy_str(b->system_id, sizeof b->system_id, raw.t.system_id);
    smpp_copy_str(b->password, sizeof b->password, raw.t.password);
    smpp_copy_str(b->system_type, sizeof b->system_type, raw.t.system_type);
    b->interface_version = raw.t.interface_version;
    b->addr_ton = raw.t.addr_ton;
    b->addr_npi = raw.t.addr_npi;
    smpp_copy_str(b->address_range, sizeof b->address_range, raw.t.address_range);
    return SMPP_HANDLE;
}

static int decode_resp_lib(struct smpp_guard *g, uint32_t id, struct smpp_pdu *pdu)
{
    union { data_sm_resp_t d; bind_transmitter_resp_t b;
            bind_receiver_resp_t r; bind_transceiver_resp_t x; } raw;
    bool sound;
    int r = smpp_guard_resp(g, id, pdu, &sound);

    if (!sound)
        return r;
    if (id == SMPP_SUBMIT_SM_RESP) { /* read by homing before the rest was */
        smpp_copy_str(pdu->message_id, sizeof pdu->message_id, g->p + SMPP_HEADER_LEN);
        return SMPP_HANDLE;
    }
    if (unpack_mandatory_lib(g, id, g->mand, &raw, sizeof raw) < 0)
        return -1;
    if (id == SMPP_DATA_SM_RESP) {
        smpp_copy_str(pdu->message_id, sizeof pdu->message_id, raw.d.message_id); /* no TLV list */
                      } else {
        smpp_copy_str(pdu->system_id, sizeof pdu->system_id, raw.b.system_id); /* one layout */
                      destroy_tlv(raw.b.tlv);
    }
    return SMPP_HANDLE;
}

int smpp_decode_lib(const uint8_t *buf, size_t len, struct smpp_pdu *pdu, char *err,
                    size_t errsz)
{
    static const struct smpp_decoders lib = { decode_bind_lib, decode_resp_lib, decode_sm_lib };

    return smpp_decode_with(buf, len, pdu, err, errsz, &lib);
}

/* Packs `raw` (command_id set, status 0, sequence 1) and writes the real
 * status and sequence into the copy handed back. */
static int pack_lib(uint32_t id, void *raw, uint32_t status, uint32_t seq,
                    uint8_t *buf, size_t size, char *err, size_t errsz)
{
    uint8_t tmp[SMPP_PDU_MAX + 1];
    int n = 0;

    if (smpp34_pack(id, tmp, (int)sizeof tmp, &n, raw) != 0)
        return smpp_pdu_fail(err, errsz, "%s: libsmpp34 pack failed %.80s", smpp_command_name(id),
                             strerror_lib());
    if ((size_t)n > size)
        return smpp_pdu_fail(err, errsz, "%s: %d octets do not fit a buffer of %zu",
                             smpp_command_name(id), n, size);
    memcpy(buf, tmp, (size_t)n);
    smpp_put32(buf + 8, status);
    smpp_put32(buf + 12, seq);
    return n;
}

/* The header fields every libsmpp34 struct starts with. */
#define RAW_HEADER(t, id) do { (t)->command_id = (id); (t)->command_status = 0; \
                               (t)->sequence_number = 1; } while (0)

int smpp_encode_bind_lib(uint32_t id, const struct smpp_bind *b, uint32_t seq,
                         uint8_t *buf, size_t size, char *err, size_t errsz)
{
    bind_transceiver_t raw; /* the three bind structs share one layout */

    if (smpp_check_bind(id, b, seq, err, errsz) < 0)
        return -1;
    memset(&raw, 0, sizeof raw);
    RAW_HEADER(&raw, id);
    memcpy(raw.system_id, b->system_id, strlen(b->system_id) + 1);
    memcpy(raw.password, b->password, strlen(b->password) + 1);
    memcpy(raw.system_type, b->system_type, strlen(b->system_type) + 1);
    memcpy(raw.address_range, b->address_range, strlen(b->address_range) + 1);
    raw.interface_version = smpp_bind_version(b);
    raw.addr_ton = b->addr_ton;
    raw.addr_npi = b->addr_npi;
    return pack_lib(id, &raw, 0, seq, buf, size, err, errsz);
}

/* TLV nodes on the caller's stack, linked in wire order. */
struct tlvs_lib {
    tlv_t node[6];
    unsigned n;
};

static void tlv_add_lib(struct tlvs_lib *t, uint16_t tag, uint16_t len, const void *v)
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

static tlv_t *sm_tlvs_lib(const struct smpp_sm *sm, struct tlvs_lib *t)
{
    t->n = 0;
    if (sm->has_sar) {
        tlv_add_lib(t, TAG_SAR_REF, 2, &sm->sar_msg_ref_num);
        tlv_add_lib(t, TAG_SAR_TOTAL, 1, &sm->sar_total_segments);
        tlv_add_lib(t, TAG_SAR_SEQ, 1, &sm->sar_segment_seqnum);
    }
    if (sm->has_payload)
        tlv_add_lib(t, TAG_PAYLOAD, sm->payload_len, sm->payload);
    if (sm->has_receipted_id)
        tlv_add_lib(t, TAG_RECEIPTED_ID, (uint16_t)(strlen(sm->receipted_message_id) + 1),
                    sm->receipted_message_id);
    if (sm->has_message_state)
        tlv_add_lib(t, TAG_MSG_STATE, 1, &sm->message_state);
    return t->n ? &t->node[0] : NULL;
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

int smpp_encode_sm_lib(uint32_t id, const struct smpp_sm *sm, uint32_t seq,
                       uint8_t *buf, size_t size, char *err, size_t errsz)
{
    union { submit_sm_t s; deliver_sm_t d; data_sm_t x; } raw;
    struct tlvs_lib t;

    if (!smpp_is_sm(id))
        return smpp_pdu_fail(err, errsz, "sm: command_id 0x%08X is not submit_sm/deliver_sm/data_sm", id);
    if (smpp_check_seq(id, seq, err, errsz) < 0 || smpp_check_sm(id, sm, err, errsz) < 0)
        return -1;
    memset(&raw, 0, sizeof raw);
    if (id == SMPP_SUBMIT_SM) {
        RAW_HEADER(&raw.s, id);
        SM_COPY_OUT(&raw.s, sm);
        SM_COPY_OUT_BODY(&raw.s, sm);
        raw.s.tlv = sm_tlvs_lib(sm, &t);
    } else if (id == SMPP_DELIVER_SM) {
        RAW_HEADER(&raw.d, id);
        SM_COPY_OUT(&raw.d, sm);
        SM_COPY_OUT_BODY(&raw.d, sm);
        raw.d.tlv = sm_tlvs_lib(sm, &t);
    } else {
        RAW_HEADER(&raw.x, id);
        SM_COPY_OUT(&raw.x, sm);
        raw.x.tlv = sm_tlvs_lib(sm, &t);
    }
    return pack_lib(id, &raw, 0, seq, buf, size, err, errsz);
}

static int encode_id_resp_lib(uint32_t id, uint32_t status, const char *mid, uint32_t seq,
                              uint8_t *buf, size_t size, char *err, size_t errsz)
{
    union { submit_sm_resp_t s; data_sm_resp_t d; bind_transceiver_resp_t b; } raw;

    if (!mid)
        mid = "";
    if (smpp_check_id_resp(id, mid, err, errsz) < 0)
        return -1;
    if (!smpp_id_resp_has_body(id, status))
        return smpp_encode_resp(id, status, mid, seq, buf, size, err, errsz); /* a header */
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
    return pack_lib(id, &raw, status, seq, buf, size, err, errsz);
}

/* Header-only resps were never packed by libsmpp34 (it refuses vendor
 * statuses): those are smpp_encode_resp's own. */
int smpp_encode_resp_lib(uint32_t id, uint32_t status, const char *message_id, uint32_t seq,
                         uint8_t *buf, size_t size, char *err, size_t errsz)
{
    if (smpp_check_seq(id, seq, err, errsz) < 0)
        return -1;
    switch (id) {
    case SMPP_DELIVER_SM_RESP: {
        deliver_sm_resp_t raw;
        memset(&raw, 0, sizeof raw);
        RAW_HEADER(&raw, id);
        return pack_lib(id, &raw, status, seq, buf, size, err, errsz);
    }
    case SMPP_SUBMIT_SM_RESP: case SMPP_DATA_SM_RESP: case SMPP_BIND_TRANSMITTER_RESP:
    case SMPP_BIND_RECEIVER_RESP: case SMPP_BIND_TRANSCEIVER_RESP:
        return encode_id_resp_lib(id, status, message_id, seq, buf, size, err, errsz);
    default:
        return smpp_encode_resp(id, status, message_id, seq, buf, size, err, errsz);
    }
}

int smpp_encode_simple_lib(uint32_t id, uint32_t seq, uint8_t *buf, size_t size,
                           char *err, size_t errsz)
{
    enquire_link_t raw; /* unbind_t has the same header-only layout */

    if (smpp_check_simple(id, seq, err, errsz) < 0)
        return -1;
    memset(&raw, 0, sizeof raw);
    RAW_HEADER(&raw, id);
    return pack_lib(id, &raw, 0, seq, buf, size, err, errsz);
}
