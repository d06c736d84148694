/*
 * bench/codec: throughput of the SMS codec, single-threaded.
 *
 *   make build/bench/codec && build/bench/codec
 *
 * Prints messages per second for: encode + segment of a typical 160-character
 * GSM 7-bit message, of a 459-character (3-segment) one, and of a UCS-2 one;
 * SMS-SUBMIT PDU building for a segment; and decoding a 160-character
 * SMS-DELIVER, from octets and from the hex a modem prints.
 * Figures go in docs/benchmarks.md; nothing asserts on them.
 */
#include "gateway/codec.h"
#include "modem/pdu.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static struct codec_message msg;
static struct pdu_sms sms;
static volatile unsigned sink;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef void (*bench_fn)(const void *arg);

/* Runs fn in batches until a second has passed; prints the rate. */
static void run(const char *name, bench_fn fn, const void *arg)
{
    unsigned long n = 0;
    double start = now(), t;
    do {
        for (int i = 0; i < 10000; i++)
            fn(arg);
        n += 10000;
    } while ((t = now() - start) < 1.0);
    printf("%-44s %12.0f msgs/s  %8.1f ns/msg\n", name, (double)n / t, t * 1e9 / (double)n);
}

static void encode(const void *arg)
{
    const char *text = arg;
    codec_encode(text, strlen(text), NULL, &msg);
    sink += msg.nsegments;
}

static void submit(const void *arg)
{
    (void)arg;
    char hex[PDU_HEX_MAX];
    struct pdu_submit s = { .to = "+353871234567", .ud = msg.seg[0].ud,
                            .ud_len = msg.seg[0].ud_len, .udl = msg.seg[0].udl };
    sink += (unsigned)pdu_encode_submit(&s, hex, sizeof hex, NULL, 0);
}

struct pdu_in {
    const uint8_t *buf;
    size_t len;
    const char *hex;
};

static void decode_bin(const void *arg)
{
    const struct pdu_in *in = arg;
    pdu_decode(in->buf, in->len, &sms, NULL, 0);
    sink += (unsigned)sms.text_len;
}

static void decode_hex(const void *arg)
{
    const struct pdu_in *in = arg;
    uint8_t buf[PDU_MAX];
    int n = pdu_from_hex(in->hex, strlen(in->hex), buf, sizeof buf, NULL, 0);
    pdu_decode(buf, (size_t)n, &sms, NULL, 0);
    sink += (unsigned)sms.text_len;
}

int main(void)
{
    static const char text160[] =
        "Hi Aoife, we miss you at Corner Cafe! Come back this week and get 20% off "
        "any coffee & cake. Show this text at the till. Reply STOP to opt out. Thx!! See you :)";
    static char text459[480], ucs2[200];
    static char hex[PDU_HEX_MAX];
    uint8_t bin[PDU_MAX];

    snprintf(text459, sizeof text459, "%s%s%.139s", text160, text160, text160);
    snprintf(ucs2, sizeof ucs2, "%s", "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82, "
             "\xD0\xBC\xD1\x8B \xD1\x81\xD0\xBA\xD1\x83\xD1\x87\xD0\xB0\xD0\xB5\xD0\xBC! "
             "\xF0\x9F\x98\x80 20% off this week only.");
    printf("text lengths: %zu, %zu bytes\n", strlen(text160), strlen(text459));

    run("encode+segment, 160-char GSM 7-bit (1 seg)", encode, text160);
    run("encode+segment, 459-char GSM 7-bit (3 seg)", encode, text459);
    run("encode+segment, 47-char UCS-2 (1 seg)", encode, ucs2);
    codec_encode(text160, strlen(text160), NULL, &msg);
    run("SMS-SUBMIT PDU to hex, 160-char segment", submit, NULL);

    /* An SMS-DELIVER carrying the 160-character text, as +CMT prints it. */
    char *p = hex + sprintf(hex, "07915383101000F0040C915383172354760000621122905100" "40A0");
    for (unsigned i = 0; i < msg.seg[0].ud_len; i++)
        p += sprintf(p, "%02X", msg.seg[0].ud[i]);
    int n = pdu_from_hex(hex, strlen(hex), bin, sizeof bin, NULL, 0);
    struct pdu_in in = { bin, (size_t)n, hex };
    char err[PDU_ERROR_MAX] = "";
    if (pdu_decode(bin, (size_t)n, &sms, err, sizeof err) < 0 || sms.text_len != 160) {
        fprintf(stderr, "bench PDU does not decode: %s\n", err);
        return 1;
    }
    run("PDU decode, 160-char SMS-DELIVER (octets)", decode_bin, &in);
    run("PDU decode, 160-char SMS-DELIVER (hex)", decode_hex, &in);
    return sink == 0;
}
