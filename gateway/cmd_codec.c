/*
 * cmd_codec: `homing segments` and `homing pdu encode|decode`.
 *
 * Thin wrappers over gateway/codec and modem/pdu, so that an operator can
 * see what the gateway will send (encoding, segment count, each part's text,
 * each PDU with its AT+CMGS length) and read what a modem printed. Neither
 * touches the database; -c is accepted like every command takes it.
 */
#include "gateway/cli.h"
#include "gateway/codec.h"
#include "gateway/commands.h"
#include "modem/pdu.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct codec_args {
    bool json, srr, ucs2, smart;
    const char *to;
    unsigned max_segments;
    unsigned validity;       /* minutes; 0 for none */
    const char *text;
};

enum { OPT_JSON = 256, OPT_SRR, OPT_UCS2, OPT_SMART, OPT_MAX, OPT_TO, OPT_VALIDITY };

static const struct option long_opts[] = {
    { "json", no_argument, NULL, OPT_JSON },
    { "srr", no_argument, NULL, OPT_SRR },
    { "ucs2", no_argument, NULL, OPT_UCS2 },
    { "smart", no_argument, NULL, OPT_SMART },
    { "max-segments", required_argument, NULL, OPT_MAX },
    { "to", required_argument, NULL, OPT_TO },
    { "validity", required_argument, NULL, OPT_VALIDITY },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

/* One option; returns -1 to go on, else an exit code. */
static int take_option(const char *cmd, int ch, struct codec_args *a)
{
    switch (ch) {
    case OPT_JSON: a->json = true; return -1;
    case OPT_SRR: a->srr = true; return -1;
    case OPT_UCS2: a->ucs2 = true; return -1;
    case OPT_SMART: a->smart = true; return -1;
    case OPT_TO: a->to = optarg; return -1;
    case 'c': return -1; /* the config is not needed here */
    case OPT_MAX:
        if (!parse_uint(optarg, CODEC_MAX_SEGMENTS, &a->max_segments) || !a->max_segments)
            return cli_usage(cmd, "--max-segments: '%s' is not 1 to 255", optarg);
        return -1;
    case OPT_VALIDITY:
        if (!parse_uint(optarg, 63 * 10080, &a->validity))
            return cli_usage(cmd, "--validity: '%s' is not 0 to 635040 minutes", optarg);
        return -1;
    case 'h':
        cli_print_help(cmd, stdout);
        return CLI_OK;
    default:
        return cli_usage(cmd, "unknown option");
    }
}

/* Parses options and the one positional argument (TEXT or HEX). */
static int parse_args(const char *cmd, int argc, char **argv, struct codec_args *a)
{
    int ch;
    optind = 0; /* glibc: start afresh, the dispatcher may have used getopt */
    while ((ch = getopt_long(argc, argv, "c:h", long_opts, NULL)) != -1) {
        int r = take_option(cmd, ch, a);
        if (r >= 0)
            return r;
    }
    if (argc - optind != 1)
        return cli_usage(cmd, "expected exactly one %s argument",
                         strcmp(cmd, "pdu decode") ? "TEXT" : "HEX");
    a->text = argv[optind];
    return -1;
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s)
        puts(s);
    free(s);
    json_decref(j);
}

/* --- homing segments ---------------------------------------------------------- */

static int encode_text(const char *cmd, const struct codec_args *a, struct codec_message *m)
{
    struct codec_options opt = {
        .smart = a->smart, .force_ucs2 = a->ucs2, .max_segments = a->max_segments,
        .concat_ref = (uint8_t)(time(NULL) ^ getpid()),
    };
    if (codec_encode(a->text, strlen(a->text), &opt, m) < 0)
        return cli_usage(cmd, "%s", m->error); /* bad input text: exit 2 */
    return CLI_OK;
}

static json_t *replacements_json(const struct codec_message *m)
{
    json_t *list = json_array();
    for (unsigned i = 0; i < m->nreplaced && i < CODEC_MAX_REPLACED; i++) {
        char from[16];
        snprintf(from, sizeof from, "U+%04X", (unsigned)m->replaced[i].from);
        json_array_append_new(list, json_pack("{s:I, s:s, s:s}", "offset",
            (json_int_t)m->replaced[i].offset, "from", from, "to", m->replaced[i].to));
    }
    return list;
}

static void segments_json(const struct codec_message *m)
{
    json_t *parts = json_array();
    for (unsigned i = 0; i < m->nsegments; i++) {
        char text[CODEC_TEXT_MAX];
        int n = codec_decode_segment(m, i, text, sizeof text);
        json_array_append_new(parts, json_stringn(text, n < 0 ? 0 : (size_t)n));
    }
    print_json(json_pack("{s:s, s:i, s:i, s:o, s:o}", "encoding",
        codec_encoding_name(m->encoding), "segments", (int)m->nsegments, "units",
        (int)m->units, "parts", parts, "replaced", replacements_json(m)));
}

static void segments_plain(const struct codec_message *m)
{
    printf("encoding: %s\nsegments: %u\n%s: %u\n", codec_encoding_name(m->encoding),
           m->nsegments, m->encoding == CODEC_GSM7 ? "septets" : "utf16_units", m->units);
    for (unsigned i = 0; i < m->nreplaced && i < CODEC_MAX_REPLACED; i++)
        printf("replaced: U+%04X at byte %zu with \"%s\"\n", (unsigned)m->replaced[i].from,
               m->replaced[i].offset, m->replaced[i].to);
    for (unsigned i = 0; i < m->nsegments; i++) {
        char text[CODEC_TEXT_MAX];
        codec_decode_segment(m, i, text, sizeof text);
        printf("part %u: %s\n", i + 1, text);
    }
}

int cmd_segments(int argc, char **argv)
{
    struct codec_args a = { 0 };
    static struct codec_message m;
    int r = parse_args("segments", argc, argv, &a);

    if (r >= 0)
        return r;
    if ((r = encode_text("segments", &a, &m)) != CLI_OK)
        return r;
    if (a.json)
        segments_json(&m);
    else
        segments_plain(&m);
    return CLI_OK;
}

/* --- homing pdu encode ---------------------------------------------------------- */

static int pdu_encode_cmd(int argc, char **argv)
{
    const char *cmd = "pdu encode";
    struct codec_args a = { 0 };
    static struct codec_message m;
    int r = parse_args(cmd, argc, argv, &a);

    if (r >= 0)
        return r;
    if (!a.to)
        return cli_usage(cmd, "--to NUMBER is required");
    if ((r = encode_text(cmd, &a, &m)) != CLI_OK)
        return r;
    json_t *list = json_array();
    for (unsigned i = 0; i < m.nsegments; i++) {
        char hex[PDU_HEX_MAX], err[PDU_ERROR_MAX];
        struct pdu_submit s = {
            .to = a.to, .dcs = codec_dcs(m.encoding), .srr = a.srr, .udhi = m.udhi,
            .vp_minutes = a.validity, .ud = m.seg[i].ud, .ud_len = m.seg[i].ud_len,
            .udl = m.seg[i].udl,
        };
        int len = pdu_encode_submit(&s, hex, sizeof hex, err, sizeof err);
        if (len < 0) {
            json_decref(list);
            return cli_error(cmd, "%s", err);
        }
        json_array_append_new(list, json_pack("{s:i, s:s}", "length", len, "pdu", hex));
        if (!a.json)
            printf("segment %u/%u: AT+CMGS=%d\n%s\n", i + 1, m.nsegments, len, hex);
    }
    if (a.json)
        print_json(list);
    else
        json_decref(list);
    return CLI_OK;
}

/* --- homing pdu decode ------------------------------------------------------------ */

static const char *addr_key(enum pdu_type t)
{
    return t == PDU_DELIVER ? "originator" : t == PDU_SUBMIT ? "destination" : "recipient";
}

static json_t *hex_json(const uint8_t *b, size_t n)
{
    char hex[2 * 256 + 1];
    for (size_t i = 0; i < n && i < 256; i++)
        sprintf(hex + 2 * i, "%02X", b[i]);
    hex[2 * (n < 256 ? n : 256)] = '\0';
    return json_string(hex);
}

static json_t *udh_json(const struct pdu_sms *s)
{
    json_t *u = json_object();
    json_object_set_new(u, "hex", hex_json(s->udh.data, s->udh.len));
    if (s->udh.concat)
        json_object_set_new(u, "concat", json_pack("{s:i, s:i, s:i}", "ref",
            s->udh.concat_ref, "total", s->udh.concat_total, "seq", s->udh.concat_seq));
    if (s->udh.lang_lock)
        json_object_set_new(u, "locking_shift", json_integer(s->udh.lang_lock));
    if (s->udh.lang_shift)
        json_object_set_new(u, "single_shift", json_integer(s->udh.lang_shift));
    return u;
}

static void set_time(json_t *j, const char *key, const struct pdu_time *t)
{
    char iso[32];
    pdu_time_iso(t, iso, sizeof iso);
    json_object_set_new(j, key, json_string(iso));
}

static json_t *decode_json(const struct pdu_sms *s)
{
    json_t *j = json_object();
    json_object_set_new(j, "type", json_string(pdu_type_name(s->type)));
    json_object_set_new(j, "smsc", json_string(s->smsc.text));
    json_object_set_new(j, addr_key(s->type), json_string(s->addr.text));
    if (s->type != PDU_DELIVER)
        json_object_set_new(j, "mr", json_integer(s->mr));
    if (s->type != PDU_SUBMIT)
        set_time(j, "timestamp", &s->scts);
    if (s->type == PDU_STATUS_REPORT) {
        set_time(j, "discharge_time", &s->discharge);
        json_object_set_new(j, "status", json_string(pdu_status_kind_name(pdu_status_kind(s->status))));
        json_object_set_new(j, "status_code", json_integer(s->status));
        json_object_set_new(j, "status_text", json_string(pdu_status_text(s->status)));
    }
    if (s->type == PDU_SUBMIT && s->vpf == 2)
        json_object_set_new(j, "validity_minutes", json_integer(s->vp_minutes));
    json_object_set_new(j, "pid", json_integer(s->pid));
    json_object_set_new(j, "dcs", json_integer(s->dcs.raw));
    json_object_set_new(j, "encoding", json_string(codec_encoding_name(s->dcs.encoding)));
    json_object_set_new(j, "class", s->dcs.msg_class < 0 ? json_null() : json_integer(s->dcs.msg_class));
    json_object_set_new(j, "srr", json_boolean(s->srr));
    json_object_set_new(j, "text", json_stringn(s->text, s->text_len));
    if (s->dcs.encoding == CODEC_8BIT && s->ud)
        json_object_set_new(j, "data", hex_json(s->ud + (s->udhi ? s->udh.len + 1 : 0),
                                                s->ud_len - (s->udhi ? s->udh.len + 1 : 0)));
    if (s->udhi)
        json_object_set_new(j, "udh", udh_json(s));
    return j;
}

static void decode_plain(const struct pdu_sms *s)
{
    json_t *j = decode_json(s);
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        char *str = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        printf("%s: %s\n", key, str ? str : json_string_value(v));
        free(str);
    }
    json_decref(j);
}

static int pdu_decode_cmd(int argc, char **argv)
{
    const char *cmd = "pdu decode";
    struct codec_args a = { 0 };
    static struct pdu_sms s;
    uint8_t buf[PDU_MAX];
    char err[PDU_ERROR_MAX];
    int r = parse_args(cmd, argc, argv, &a);

    if (r >= 0)
        return r;
    int n = pdu_from_hex(a.text, strlen(a.text), buf, sizeof buf, err, sizeof err);
    if (n < 0 || pdu_decode(buf, (size_t)n, &s, err, sizeof err) < 0)
        return cli_usage(cmd, "%s", err); /* a malformed PDU is bad input: exit 2 */
    if (a.json)
        print_json(decode_json(&s));
    else
        decode_plain(&s);
    return CLI_OK;
}

int cmd_pdu(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("pdu", "expected 'encode' or 'decode'");
    if (strcmp(argv[1], "encode") == 0)
        return pdu_encode_cmd(argc - 1, argv + 1);
    if (strcmp(argv[1], "decode") == 0)
        return pdu_decode_cmd(argc - 1, argv + 1);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        cli_print_help("pdu", stdout);
        return CLI_OK;
    }
    return cli_usage("pdu", "unknown subcommand '%s': expected 'encode' or 'decode'", argv[1]);
}
