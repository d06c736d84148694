/*
 * fuzz_segments: UTF-8 -> codec_encode() -> codec_decode() of every segment.
 * The first octet picks options (smart mode, forced UCS-2); the rest is the
 * text. Invalid UTF-8 must be refused; valid text must come back exactly
 * (unless smart mode replaced something), with every segment within its
 * limit and no escape or surrogate pair split.
 */
#include "gateway/codec.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_segment(const struct codec_message *m, const struct codec_segment *s)
{
    unsigned hdr = m->udhi ? 6 : 0;
    if (m->encoding == CODEC_UCS2) {
        if (s->udl > 140 || s->udl != s->ud_len || (s->udl - hdr) % 2)
            abort();
        if (s->udl > hdr && (s->ud[s->udl - 2] & 0xFC) == 0xD8)
            abort(); /* a high surrogate left at the end */
        return;
    }
    uint8_t sep[160];
    unsigned udh_sep = (hdr * 8 + 6) / 7, n = s->udl - udh_sep, esc = 0;
    if (s->udl > 160 || s->ud_len > 140)
        abort();
    codec_gsm7_unpack(s->ud + hdr, n, udh_sep * 7 - hdr * 8, sep);
    while (esc < n && sep[n - 1 - esc] == 0x1B)
        esc++;
    if (esc % 2)
        abort(); /* an escape without its character */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct codec_message m;
    static char back[4 * 4096 + CODEC_TEXT_MAX];
    if (size < 1 || size > 4096)
        return 0;
    struct codec_options opt = { .smart = data[0] & 1, .force_ucs2 = data[0] & 2,
                                 .max_segments = 255, .concat_ref = data[0] };
    const char *text = (const char *)data + 1;
    size_t len = size - 1, o = 0;
    bool valid = codec_utf8_valid(text, len, NULL);

    if (codec_encode(text, len, &opt, &m) < 0) {
        if (valid && strstr(m.error, "segments") == NULL)
            abort();
        return 0;
    }
    if (!valid || m.nsegments == 0 || m.nsegments > 255)
        abort();
    for (unsigned i = 0; i < m.nsegments; i++) {
        check_segment(&m, &m.seg[i]);
        int n = codec_decode_segment(&m, i, back + o, sizeof back - o);
        if (n < 0)
            abort();
        o += (size_t)n;
    }
    if (m.nreplaced == 0 && (o != len || memcmp(back, text, len) != 0))
        abort();
    return 0;
}
