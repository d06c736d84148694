/*
 * Integration test of tools/smsc-sim: starts the simulator (sanitized build)
 * on an ephemeral loopback port, talks SMPP to it over a plain socket with
 * libsmpp34 pack/unpack (framing done here by hand), drives the control
 * channel, and reads the JSON-lines log.
 *
 * The texts are encoded here by hand, octet by octet from GSM 03.38, so the
 * test does not trust the simulator's own codec. Every wait is bounded by
 * poll() with a timeout; every test stops the simulator and checks that it
 * exited 0 (so AddressSanitizer's leak check in it passes too).
 */
#include "tests/harness.h"
#include "tests/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <smpp34.h>
#include <smpp34_structs.h>
#include <smpp34_params.h>

/* ---- the simulator process ---- */

static struct {
    pid_t pid;
    char dir[512];
    char ctl[600];
    char log[600];
    int port;
} sim;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int read_port(const char *path)
{
    FILE *f = fopen(path, "r");
    int port = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%d", &port) != 1)
        port = 0;
    fclose(f);
    return port;
}

/* Starts smsc-sim with the standard arguments plus extra (NULL-terminated). */
static void sim_start(const char *const *extra)
{
    char portfile[600];
    char *argv[64]; /* execv wants char *: the strings are not written */
    int n = 0;
    snprintf(sim.dir, sizeof sim.dir, "%s", testutil_tmpdir());
    snprintf(portfile, sizeof portfile, "%s/port", sim.dir);
    snprintf(sim.ctl, sizeof sim.ctl, "%s/ctl.sock", sim.dir);
    snprintf(sim.log, sizeof sim.log, "%s/submits.jsonl", sim.dir);
    const char *prog = testutil_program("smsc-sim");
    const char *base[] = {prog, "--listen", "127.0.0.1:0", "--port-file", portfile,
                          "--control", sim.ctl, "--log", sim.log,
                          "--system-id", "homing", "--password", "secret"};
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        argv[n++] = (char *)(uintptr_t)base[i];
    for (; extra && *extra && n < 62; extra++)
        argv[n++] = (char *)(uintptr_t)*extra;
    argv[n] = NULL;
    pid_t parent = getpid();
    sim.pid = fork();
    ck_assert_int_ge(sim.pid, 0);
    if (sim.pid == 0) {
        /* If the test process dies on a failed assertion, so does the sim. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        execv(prog, argv);
        perror(prog);
        _exit(127);
    }
    long deadline = now_ms() + 5000;
    while ((sim.port = read_port(portfile)) == 0 && now_ms() < deadline)
        usleep(10000);
    ck_assert_msg(sim.port > 0, "smsc-sim did not write its port file");
}

/* Stops the simulator; it must exit 0 (ASan reports make it exit non-zero). */
static void sim_stop(void)
{
    int status = 0;
    kill(sim.pid, SIGTERM);
    long deadline = now_ms() + 5000;
    pid_t r;
    while ((r = waitpid(sim.pid, &status, WNOHANG)) == 0 && now_ms() < deadline)
        usleep(10000);
    if (r == 0) {
        kill(sim.pid, SIGKILL);
        waitpid(sim.pid, &status, 0);
        ck_abort_msg("smsc-sim did not stop on SIGTERM");
    }
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "smsc-sim exited with status 0x%x", status);
}

/* ---- control channel ---- */

/* Sends one command and returns the answer line (static storage). */
static const char *ctl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *ctl(const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    const char *answer = harness_ctl_reply(sim.ctl, line);
    ck_assert_msg(answer != NULL, "no answer to control command %s", line);
    return answer;
}

static void ctl_ok(const char *cmd)
{
    harness_ctl(sim.ctl, cmd);
}

/* The value of key=N in the status line. */
static long status_value(const char *key)
{
    const char *a = ctl("status");
    char pat[64];
    snprintf(pat, sizeof pat, " %s=", key);
    const char *p = strstr(a, pat);
    ck_assert_msg(p != NULL, "status has no %s: %s", key, a);
    return atol(p + strlen(pat));
}

/* ---- SMPP over a plain socket ---- */

static uint32_t next_seq = 1;

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int smpp_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)sim.port) };
    int one = 1;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void write_all(int fd, const uint8_t *buf, size_t len)
{
    ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
}

/* Packs pdu (its command_id and sequence_number already set) and sends it. */
static void send_pdu(int fd, void *pdu)
{
    uint8_t buf[4096];
    int len = 0;
    uint32_t type = *((uint32_t *)pdu + 1);
    int rc = smpp34_pack(type, buf, sizeof buf - 1, &len, pdu);
    ck_assert_msg(rc == 0, "pack: %s", smpp34_strerror);
    write_all(fd, buf, (size_t)len);
}

static void send_header(int fd, uint32_t id, uint32_t status, uint32_t seq)
{
    uint8_t b[16] = {0, 0, 0, 16};
    for (int i = 0; i < 4; i++) {
        b[4 + i] = (uint8_t)(id >> (24 - 8 * i));
        b[8 + i] = (uint8_t)(status >> (24 - 8 * i));
        b[12 + i] = (uint8_t)(seq >> (24 - 8 * i));
    }
    write_all(fd, b, sizeof b);
}

/* Reads exactly len bytes before the deadline: 1 ok, 0 EOF, -1 timeout. */
static int read_exact(int fd, uint8_t *buf, size_t len, long deadline)
{
    size_t got = 0;
    while (got < len) {
        long left = deadline - now_ms();
        struct pollfd p = { fd, POLLIN, 0 };
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return -1;
        ssize_t n = read(fd, buf + got, len - got);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            return 0;
        if (n > 0)
            got += (size_t)n;
    }
    return 1;
}

/* Reads one frame within timeout_ms: its length, 0 on EOF, -1 on timeout.
 * A command_length outside 16..size is returned as is with only the header read. */
static int recv_frame(int fd, uint8_t *buf, size_t size, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    int rc = read_exact(fd, buf, 16, deadline);
    if (rc <= 0)
        return rc;
    uint32_t len = get32(buf);
    if (len < 16 || len > size)
        return (int)(len > 0x7FFFFFF ? 0x7FFFFFF : len);
    rc = read_exact(fd, buf + 16, len - 16, deadline);
    return rc <= 0 ? rc : (int)len;
}

/* Waits for a frame with command_id id (skipping others); returns its length. */
static int expect_frame(int fd, uint32_t id, uint8_t *buf, size_t size)
{
    for (int i = 0; i < 20; i++) {
        int n = recv_frame(fd, buf, size, 3000);
        ck_assert_msg(n >= 16, "expected command 0x%08x, got %d", id, n);
        if (get32(buf + 4) == id)
            return n;
    }
    ck_abort_msg("command 0x%08x never came", id);
    return -1;
}

static bool is_eof(int fd, int timeout_ms)
{
    uint8_t b[4096];
    long deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
        int n = recv_frame(fd, b, sizeof b, (int)(deadline - now_ms()));
        if (n == 0)
            return true;
        if (n < 0)
            return false;
    }
    return false;
}

/* Binds with the given command; returns the command_status. */
static uint32_t bind_as(int fd, uint32_t cmd, const char *system_id, const char *password)
{
    bind_transceiver_t b;
    uint8_t buf[512];
    memset(&b, 0, sizeof b);
    b.command_id = cmd;
    b.sequence_number = next_seq++;
    snprintf((char *)b.system_id, sizeof b.system_id, "%s", system_id);
    snprintf((char *)b.password, sizeof b.password, "%s", password);
    b.interface_version = SMPP_VERSION;
    send_pdu(fd, &b);
    int n = expect_frame(fd, cmd | 0x80000000u, buf, sizeof buf);
    ck_assert_uint_eq(get32(buf + 12), b.sequence_number);
    uint32_t status = get32(buf + 8);
    if (status == ESME_ROK) {
        bind_transceiver_resp_t r;
        memset(&r, 0, sizeof r);
        ck_assert_int_eq(smpp34_unpack(cmd | 0x80000000u, &r, buf, n), 0);
        destroy_tlv(r.tlv);
        ck_assert_str_eq((char *)r.system_id, "smsc-sim");
    }
    return status;
}

static int connect_bound(uint32_t cmd)
{
    int fd = smpp_connect();
    ck_assert_uint_eq(bind_as(fd, cmd, "homing", "secret"), ESME_ROK);
    return fd;
}

struct msg {
    const uint8_t *sm;
    size_t len;
    uint8_t dc, esm, rd;
    const char *dst;
    tlv_t *tlv; /* taken over and freed by send_submit */
};

static uint32_t send_submit(int fd, const struct msg *m)
{
    submit_sm_t s;
    memset(&s, 0, sizeof s);
    s.command_id = SUBMIT_SM;
    s.sequence_number = next_seq++;
    s.source_addr_ton = 5;
    snprintf((char *)s.source_addr, sizeof s.source_addr, "Homing");
    s.dest_addr_ton = 1;
    s.dest_addr_npi = 1;
    snprintf((char *)s.destination_addr, sizeof s.destination_addr, "%s",
             m->dst ? m->dst : "353870000001");
    s.esm_class = m->esm;
    s.data_coding = m->dc;
    s.registered_delivery = m->rd;
    snprintf((char *)s.validity_period, sizeof s.validity_period, "000002000000000R");
    s.sm_length = (uint8_t)m->len;
    memcpy(s.short_message, m->sm, m->len);
    s.tlv = m->tlv;
    send_pdu(fd, &s);
    destroy_tlv(s.tlv);
    return s.sequence_number;
}

/* Reads the submit_sm_resp for seq; returns its status, message_id into id. */
static uint32_t read_submit_resp(int fd, uint32_t seq, char *id, size_t idsize)
{
    uint8_t buf[512];
    int n = expect_frame(fd, SUBMIT_SM_RESP, buf, sizeof buf);
    ck_assert_uint_eq(get32(buf + 12), seq);
    uint32_t status = get32(buf + 8);
    if (id)
        id[0] = '\0';
    if (status == ESME_ROK && id) {
        submit_sm_resp_t r;
        memset(&r, 0, sizeof r);
        ck_assert_int_eq(smpp34_unpack(SUBMIT_SM_RESP, &r, buf, n), 0);
        snprintf(id, idsize, "%s", (char *)r.message_id);
    }
    return status;
}

static uint32_t submit_text(int fd, const struct msg *m, char *id, size_t idsize)
{
    return read_submit_resp(fd, send_submit(fd, m), id, idsize);
}

/* A received deliver_sm, with the TLVs we look at copied out. */
struct dsm {
    deliver_sm_t p;
    char receipted[66];
    int state; /* -1 absent */
    int sar_ref, sar_total, sar_seq;
};

static void recv_deliver(int fd, struct dsm *d)
{
    uint8_t buf[4096];
    int n = expect_frame(fd, DELIVER_SM, buf, sizeof buf);
    memset(d, 0, sizeof *d);
    d->state = d->sar_ref = -1;
    ck_assert_msg(smpp34_unpack(DELIVER_SM, &d->p, buf, n) == 0, "unpack: %s", smpp34_strerror);
    tlv_t *t;
    smpp34_tlv_for_each(t, d->p.tlv) {
        if (t->tag == TLVID_receipted_message_id)
            snprintf(d->receipted, sizeof d->receipted, "%.*s", t->length, (char *)t->value.octet);
        else if (t->tag == TLVID_message_state)
            d->state = t->value.val08;
        else if (t->tag == TLVID_sar_msg_ref_num)
            d->sar_ref = t->value.val16;
        else if (t->tag == TLVID_sar_total_segments)
            d->sar_total = t->value.val08;
        else if (t->tag == TLVID_sar_segment_seqnum)
            d->sar_seq = t->value.val08;
    }
    destroy_tlv(d->p.tlv);
    d->p.tlv = NULL;
    /* Answer it, as an ESME must. */
    deliver_sm_resp_t r;
    memset(&r, 0, sizeof r);
    r.command_id = DELIVER_SM_RESP;
    r.sequence_number = d->p.sequence_number;
    send_pdu(fd, &r);
}

/* The nth (0-based) line of the JSON log, parsed. Caller decrefs. */
static json_t *log_line(int nth)
{
    FILE *f = fopen(sim.log, "r");
    char line[16384];
    json_t *j = NULL;
    ck_assert_msg(f != NULL, "no log file %s", sim.log);
    for (int i = 0; fgets(line, sizeof line, f); i++) {
        if (i == nth) {
            json_error_t e;
            j = json_loads(line, 0, &e);
            ck_assert_msg(j != NULL, "log line %d: %s", nth, e.text);
            break;
        }
    }
    fclose(f);
    ck_assert_msg(j != NULL, "log has no line %d", nth);
    return j;
}

static const char *jstr(json_t *o, const char *path)
{
    char key[64];
    snprintf(key, sizeof key, "%s", path);
    char *dot = strchr(key, '.');
    if (dot) {
        *dot = '\0';
        o = json_object_get(o, key);
        return jstr(o, dot + 1);
    }
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_string(v), "log field %s is not a string", path);
    return json_string_value(v);
}

static long jint(json_t *o, const char *path)
{
    char key[64];
    snprintf(key, sizeof key, "%s", path);
    char *dot = strchr(key, '.');
    if (dot) {
        *dot = '\0';
        return jint(json_object_get(o, key), dot + 1);
    }
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_integer(v), "log field %s is not an integer", path);
    return (long)json_integer_value(v);
}

/* GSM 03.38, unpacked, written out by hand:
 * "@home 5€ {ok}" = 00 'h' 'o' 'm' 'e' 20 '5' 1B65 20 1B28 'o' 'k' 1B29 */
static const uint8_t gsm_text[] = {0x00, 'h', 'o', 'm', 'e', 0x20, '5', 0x1B, 0x65,
                                   0x20, 0x1B, 0x28, 'o', 'k', 0x1B, 0x29};
static const char gsm_utf8[] = "@home 5\xE2\x82\xAC {ok}";

/* ---- tests ---- */

START_TEST(test_bind_and_failures)
{
    sim_start(NULL);
    int fd = smpp_connect();
    ck_assert_uint_eq(bind_as(fd, BIND_TRANSCEIVER, "homing", "secret"), ESME_ROK);
    ck_assert_uint_eq(bind_as(fd, BIND_TRANSCEIVER, "homing", "secret"), ESME_RALYBND);
    int bad = smpp_connect();
    ck_assert_uint_eq(bind_as(bad, BIND_TRANSMITTER, "homing", "wrong"), ESME_RINVPASWD);
    ck_assert_uint_eq(bind_as(bad, BIND_TRANSMITTER, "nobody", "secret"), ESME_RINVSYSID);
    ck_assert_uint_eq(bind_as(bad, BIND_RECEIVER, "homing", "secret"), ESME_ROK);
    int tx = smpp_connect();
    ck_assert_uint_eq(bind_as(tx, BIND_TRANSMITTER, "homing", "secret"), ESME_ROK);
    ck_assert_int_eq(status_value("binds"), 3);
    ck_assert_int_eq(status_value("bind_failures"), 3);
    ck_assert_int_eq(status_value("bound"), 3);
    close(fd);
    close(bad);
    close(tx);
    sim_stop();
}
END_TEST

START_TEST(test_submit_before_bind)
{
    sim_start(NULL);
    int fd = smpp_connect();
    struct msg m = { .sm = (const uint8_t *)"hi", .len = 2 };
    ck_assert_uint_eq(submit_text(fd, &m, NULL, 0), ESME_RINVBNDSTS);
    int rx = connect_bound(BIND_RECEIVER);
    ck_assert_uint_eq(submit_text(rx, &m, NULL, 0), ESME_RINVBNDSTS);
    close(fd);
    close(rx);
    sim_stop();
}
END_TEST

START_TEST(test_submit_gsm_ucs2_latin1_logged)
{
    sim_start(NULL);
    int fd = connect_bound(BIND_TRANSCEIVER);
    char id1[70], id2[70], id3[70];
    struct msg gsm = { .sm = gsm_text, .len = sizeof gsm_text, .rd = 1 };
    ck_assert_uint_eq(submit_text(fd, &gsm, id1, sizeof id1), ESME_ROK);
    /* UCS-2 BE: "Ж€" then U+1F600 as a surrogate pair */
    static const uint8_t ucs2[] = {0x04, 0x16, 0x20, 0xAC, 0xD8, 0x3D, 0xDE, 0x00};
    struct msg u = { .sm = ucs2, .len = sizeof ucs2, .dc = 8 };
    ck_assert_uint_eq(submit_text(fd, &u, id2, sizeof id2), ESME_ROK);
    static const uint8_t latin1[] = {'c', 'a', 'f', 0xE9};
    struct msg l = { .sm = latin1, .len = sizeof latin1, .dc = 3 };
    ck_assert_uint_eq(submit_text(fd, &l, id3, sizeof id3), ESME_ROK);
    ck_assert_str_ne(id1, id2);
    ck_assert_str_ne(id2, id3);
    ck_assert_str_ne(id1, id3);

    json_t *j = log_line(0);
    ck_assert_str_eq(jstr(j, "message_id"), id1);
    ck_assert_str_eq(jstr(j, "kind"), "submit_sm");
    ck_assert_str_eq(jstr(j, "system_id"), "homing");
    ck_assert_str_eq(jstr(j, "text"), gsm_utf8);
    ck_assert_str_eq(jstr(j, "short_message"), "00686f6d6520351b65201b286f6b1b29");
    ck_assert_str_eq(jstr(j, "source.addr"), "Homing");
    ck_assert_int_eq(jint(j, "source.ton"), 5);
    ck_assert_str_eq(jstr(j, "destination.addr"), "353870000001");
    ck_assert_int_eq(jint(j, "destination.ton"), 1);
    ck_assert_int_eq(jint(j, "destination.npi"), 1);
    ck_assert_int_eq(jint(j, "registered_delivery"), 1);
    ck_assert_str_eq(jstr(j, "validity"), "000002000000000R");
    ck_assert(json_is_null(json_object_get(j, "concat")));
    json_decref(j);
    j = log_line(1);
    ck_assert_str_eq(jstr(j, "message_id"), id2);
    ck_assert_int_eq(jint(j, "data_coding"), 8);
    ck_assert_str_eq(jstr(j, "text"), "\xD0\x96\xE2\x82\xAC\xF0\x9F\x98\x80");
    json_decref(j);
    j = log_line(2);
    ck_assert_str_eq(jstr(j, "text"), "caf\xC3\xA9");
    json_decref(j);
    close(fd);
    sim_stop();
}
END_TEST

static tlv_t *tlv8(tlv_t *list, uint16_t tag, uint8_t v)
{
    tlv_t t;
    memset(&t, 0, sizeof t);
    t.tag = tag;
    t.length = 1;
    t.value.val08 = v;
    build_tlv(&list, &t);
    return list;
}

static tlv_t *tlv16(tlv_t *list, uint16_t tag, uint16_t v)
{
    tlv_t t;
    memset(&t, 0, sizeof t);
    t.tag = tag;
    t.length = 2;
    t.value.val16 = v;
    build_tlv(&list, &t);
    return list;
}

START_TEST(test_submit_concat_methods)
{
    sim_start(NULL);
    int fd = connect_bound(BIND_TRANSCEIVER);
    /* UDH, 8-bit reference 0x2A, part 2 of 3, then "abc" */
    static const uint8_t udh[] = {5, 0, 3, 0x2A, 3, 2, 'a', 'b', 'c'};
    struct msg m1 = { .sm = udh, .len = sizeof udh, .esm = 0x40 };
    ck_assert_uint_eq(submit_text(fd, &m1, NULL, 0), ESME_ROK);
    struct msg m2 = { .sm = (const uint8_t *)"xyz", .len = 3 };
    m2.tlv = tlv16(NULL, TLVID_sar_msg_ref_num, 0x1234);
    m2.tlv = tlv8(m2.tlv, TLVID_sar_total_segments, 2);
    m2.tlv = tlv8(m2.tlv, TLVID_sar_segment_seqnum, 1);
    ck_assert_uint_eq(submit_text(fd, &m2, NULL, 0), ESME_ROK);
    tlv_t t;
    memset(&t, 0, sizeof t);
    t.tag = TLVID_message_payload;
    t.length = 300;
    memset(t.value.octet, 'A', 300);
    t.value.octet[299] = 0x1B; /* a dangling escape at the end */
    struct msg m3 = { .sm = (const uint8_t *)"", .len = 0 };
    build_tlv(&m3.tlv, &t);
    ck_assert_uint_eq(submit_text(fd, &m3, NULL, 0), ESME_ROK);
    static const uint8_t badudh[] = {9, 0, 3, 1};
    struct msg m4 = { .sm = badudh, .len = sizeof badudh, .esm = 0x40 };
    ck_assert_uint_eq(submit_text(fd, &m4, NULL, 0), ESME_RINVESMCLASS);

    json_t *j = log_line(0);
    ck_assert_str_eq(jstr(j, "concat.method"), "udh");
    ck_assert_int_eq(jint(j, "concat.ref"), 0x2A);
    ck_assert_int_eq(jint(j, "concat.total"), 3);
    ck_assert_int_eq(jint(j, "concat.seq"), 2);
    ck_assert_int_eq(jint(j, "esm_class"), 0x40);
    ck_assert_str_eq(jstr(j, "text"), "abc");
    ck_assert_str_eq(jstr(j, "udh"), "0500032a0302");
    json_decref(j);
    j = log_line(1);
    ck_assert_str_eq(jstr(j, "concat.method"), "sar");
    ck_assert_int_eq(jint(j, "concat.ref"), 0x1234);
    ck_assert_int_eq(jint(j, "concat.total"), 2);
    ck_assert_int_eq(jint(j, "concat.seq"), 1);
    ck_assert_str_eq(jstr(j, "text"), "xyz");
    json_decref(j);
    j = log_line(2);
    ck_assert_str_eq(jstr(j, "concat.method"), "payload");
    const char *text = jstr(j, "text");
    ck_assert_uint_eq(strlen(text), 299 + 3); /* 299 'A' and U+FFFD */
    ck_assert_str_eq(text + 299, "\xEF\xBF\xBD");
    json_decref(j);
    close(fd);
    sim_stop();
}
END_TEST

START_TEST(test_strict_lengths)
{
    sim_start(NULL);
    int fd = connect_bound(BIND_TRANSMITTER);
    uint8_t long_gsm[161];
    memset(long_gsm, 'a', sizeof long_gsm);
    struct msg m = { .sm = long_gsm, .len = 160 };
    ck_assert_uint_eq(submit_text(fd, &m, NULL, 0), ESME_ROK);
    m.len = 161;
    ck_assert_uint_eq(submit_text(fd, &m, NULL, 0), ESME_RINVMSGLEN);
    static const uint8_t odd_ucs2[] = {0, 'a', 0};
    struct msg u = { .sm = odd_ucs2, .len = 3, .dc = 8 };
    ck_assert_uint_eq(submit_text(fd, &u, NULL, 0), ESME_RINVMSGLEN);
    ck_assert_int_eq(status_value("rejected"), 2);
    close(fd);
    sim_stop();
}
END_TEST

START_TEST(test_receipt_text_decimal)
{
    const char *args[] = {"--receipts", "text", "--receipt-delay", "50", NULL};
    sim_start(args);
    int fd = connect_bound(BIND_TRANSCEIVER);
    char id[70];
    struct msg m = { .sm = gsm_text, .len = sizeof gsm_text, .rd = 1 };
    ck_assert_uint_eq(submit_text(fd, &m, id, sizeof id), ESME_ROK);
    for (const char *p = id; *p; p++)
        ck_assert_msg(*p >= '0' && *p <= '9', "decimal id expected: %s", id);
    struct dsm d;
    recv_deliver(fd, &d);
    ck_assert_uint_eq(d.p.esm_class, 0x04);
    ck_assert_str_eq((char *)d.p.source_addr, "353870000001");
    ck_assert_str_eq((char *)d.p.destination_addr, "Homing");
    char text[300], prefix[120];
    snprintf(text, sizeof text, "%.*s", d.p.sm_length, (char *)d.p.short_message);
    snprintf(prefix, sizeof prefix, "id:%s sub:001 dlvrd:001 submit date:", id);
    ck_assert_msg(strncmp(text, prefix, strlen(prefix)) == 0, "receipt: %s", text);
    ck_assert_msg(strstr(text, " stat:DELIVRD err:000 text:.home 5. .ok.") != NULL,
                  "receipt: %s", text);
    ck_assert_int_eq(d.state, -1);
    ck_assert_str_eq(d.receipted, "");
    /* No receipt for a submit that did not ask for one. */
    m.rd = 0;
    ck_assert_uint_eq(submit_text(fd, &m, NULL, 0), ESME_ROK);
    uint8_t buf[512];
    ck_assert_int_eq(recv_frame(fd, buf, sizeof buf, 300), -1);
    ck_assert_int_eq(status_value("receipts"), 1);
    ck_assert_int_eq(status_value("deliver_resps"), 1);
    close(fd);
    sim_stop();
}
END_TEST

START_TEST(test_receipt_tlv_hex_undeliv)
{
    const char *args[] = {"--receipts", "tlv", "--receipt-delay", "20", "--ids", "hex",
                          "--receipt-state", "UNDELIV", NULL};
    sim_start(args);
    int fd = connect_bound(BIND_TRANSCEIVER);
    char id[70];
    struct msg m = { .sm = (const uint8_t *)"hello", .len = 5, .rd = 1 };
    ck_assert_uint_eq(submit_text(fd, &m, id, sizeof id), ESME_ROK);
    ck_assert_msg(strspn(id, "0123456789abcdef") == strlen(id) && strpbrk(id, "abcdef"),
                  "hex id expected: %s", id);
    struct dsm d;
    recv_deliver(fd, &d);
    ck_assert_uint_eq(d.p.esm_class, 0x04);
    ck_assert_uint_eq(d.p.sm_length, 0);
    ck_assert_str_eq(d.receipted, id);
    ck_assert_int_eq(d.state, 5);
    close(fd);
    sim_stop();
}
END_TEST

START_TEST(test_receipt_both_hex_resp_decimal_receipt)
{
    const char *args[] = {"--receipts", "both", "--receipt-delay", "20", "--ids", "hex dec",
                          "--receipt-state", "EXPIRED", "--receipt-err", "27", NULL};
    sim_start(args);
    int fd = connect_bound(BIND_TRANSCEIVER);
    char id[70], dec[40];
    struct msg m = { .sm = (const uint8_t *)"hello", .len = 5, .rd = 1 };
    ck_assert_uint_eq(submit_text(fd, &m, id, sizeof id), ESME_ROK);
    snprintf(dec, sizeof dec, "%llu", strtoull(id, NULL, 16));
    struct dsm d;
    recv_deliver(fd, &d);
    ck_assert_str_eq(d.receipted, dec);
    ck_assert_int_eq(d.state, 3);
    char text[300], prefix[80];
    snprintf(text, sizeof text, "%.*s", d.p.sm_length, (char *)d.p.short_message);
    snprintf(prefix, sizeof prefix, "id:%s sub:001 dlvrd:000 ", dec);
    ck_assert_msg(strncmp(text, prefix, strlen(prefix)) == 0, "receipt: %s", text);
    ck_assert_msg(strstr(text, "stat:EXPIRED err:027 text:hello"), "receipt: %s", text);
    close(fd);
    sim_stop();
}
END_TEST

START_TEST(test_receipt_waits_for_receiver)
{
    const char *args[] = {"--receipts", "text", "--receipt-delay", "10", NULL};
    sim_start(args);
    int tx = connect_bound(BIND_TRANSMITTER);
    char id[70];
    struct msg m = { .sm = (const uint8_t *)"later", .len = 5, .rd = 1 };
    ck_assert_uint_eq(submit_text(tx, &m, id, sizeof id), ESME_ROK);
    usleep(200000);
    ck_assert_int_eq(status_value("receipts_pending"), 1);
    int rx = connect_bound(BIND_RECEIVER);
    struct dsm d;
    recv_deliver(rx, &d);
    char want[80];
    snprintf(want, sizeof want, "id:%s ", id);
    ck_assert(strncmp((char *)d.p.short_message, want, strlen(want)) == 0);
    close(tx);
    close(rx);
    sim_stop();
}
END_TEST

START_TEST(test_mo_single_and_concat)
{
    sim_start(NULL);
    int fd = connect_bound(BIND_TRANSCEIVER);
    ck_assert_str_eq(ctl("mo +353870000002 50123 Hi {you} 5\xE2\x82\xAC"),
                     "ok mo parts=1 sent=1 ref=1 coding=0 conn=1");
    struct dsm d;
    recv_deliver(fd, &d);
    static const uint8_t want[] = {'H', 'i', ' ', 0x1B, 0x28, 'y', 'o', 'u', 0x1B, 0x29,
                                   ' ', '5', 0x1B, 0x65};
    ck_assert_uint_eq(d.p.sm_length, sizeof want);
    ck_assert(memcmp(d.p.short_message, want, sizeof want) == 0);
    ck_assert_str_eq((char *)d.p.source_addr, "353870000002");
    ck_assert_uint_eq(d.p.source_addr_ton, 1);
    ck_assert_str_eq((char *)d.p.destination_addr, "50123");
    ck_assert_uint_eq(d.p.data_coding, 0);
    ck_assert_uint_eq(d.p.esm_class, 0);

    /* Three UDH parts, sent out of order. */
    const char *a = ctl("mo --parts 3 --order 3,1,2 --ref 7 353870000002 50123 aaaabbbbcccc");
    ck_assert_msg(strncmp(a, "ok mo parts=3 sent=3 ref=7", 26) == 0, "%s", a);
    int seqs[] = {3, 1, 2};
    for (int i = 0; i < 3; i++) {
        recv_deliver(fd, &d);
        ck_assert_uint_eq(d.p.esm_class, 0x40);
        ck_assert_uint_eq(d.p.sm_length, 6 + 4);
        static const uint8_t h[] = {5, 0, 3, 7, 3};
        ck_assert(memcmp(d.p.short_message, h, sizeof h) == 0);
        ck_assert_uint_eq(d.p.short_message[5], (unsigned)seqs[i]);
        ck_assert_uint_eq(d.p.short_message[6], (unsigned)("abc"[seqs[i] - 1]));
    }
    /* SAR TLVs in UCS-2 (the text has a character outside GSM). */
    a = ctl("mo --concat sar --parts 2 --ref 300 +353870000002 50123 \xD0\x96\xD0\x96");
    ck_assert_msg(strstr(a, "parts=2") && strstr(a, "coding=8"), "%s", a);
    for (int i = 1; i <= 2; i++) {
        recv_deliver(fd, &d);
        ck_assert_int_eq(d.sar_ref, 300);
        ck_assert_int_eq(d.sar_total, 2);
        ck_assert_int_eq(d.sar_seq, i);
        ck_assert_uint_eq(d.p.data_coding, 8);
        ck_assert_uint_eq(d.p.sm_length, 2);
        ck_assert_uint_eq(d.p.short_message[0], 0x04);
        ck_assert_uint_eq(d.p.short_message[1], 0x16);
    }
    ck_assert_int_eq(status_value("mo"), 6);
    close(fd);
    sim_stop();
}
END_TEST

START_TEST(test_mo_needs_receiver)
{
    sim_start(NULL);
    int tx = connect_bound(BIND_TRANSMITTER);
    ck_assert_str_eq(ctl("mo 1 2 hello"), "error mo: no receiver or transceiver bound");
    ck_assert(strncmp(ctl("mo --concat bogus 1 2 x"), "error", 5) == 0);
    ck_assert(strncmp(ctl("nonsense 1"), "error", 5) == 0);
    close(tx);
    sim_stop();
}
END_TEST

START_TEST(test_throttle_every_and_seeded)
{
    sim_start(NULL);
    int fd = connect_bound(BIND_TRANSMITTER);
    struct msg m = { .sm = (const uint8_t *)"x", .len = 1 };
    ctl_ok("throttle every 2");
    ck_assert_uint_eq(submit_text(fd, &m, NULL, 0), ESME_ROK);
    ck_assert_uint_eq(submit_text(fd, &m, NULL, 0), ESME_RTHROTTLED);
    ck_assert_uint_eq(submit_text(fd, &m, NULL, 0), ESME_ROK);
    ck_assert_uint_eq(submit_text(fd, &m, NULL, 0), ESME_RTHROTTLED);
    ck_assert_int_eq(status_value("throttled"), 2);
    uint32_t first[20], second[20];
    int throttled = 0;
    ctl_ok("throttle 50%");
    for (int i = 0; i < 20; i++) {
        first[i] = submit_text(fd, &m, NULL, 0);
        throttled += first[i] == ESME_RTHROTTLED;
    }
    ctl_ok("throttle 50%");
    for (int i = 0; i < 20; i++)
        second[i] = submit_text(fd, &m, NULL, 0);
    ck_assert(memcmp(first, second, sizeof first) == 0);
    ck_assert_int_gt(throttled, 0);
    ck_assert_int_lt(throttled, 20);
    ctl_ok("throttle off");
    ck_assert_uint_eq(submit_text(fd, &m, NULL, 0), ESME_ROK);
    ck_assert_uint_eq(submit_text(fd, &m, NULL, 0), ESME_ROK);
    close(fd);
    sim_stop();
}
END_TEST

START_TEST(test_slow_answers)
{
    sim_start(NULL);
    int fd = connect_bound(BIND_TRANSCEIVER);
    ctl_ok("slow 400");
    struct msg m = { .sm = (const uint8_t *)"x", .len = 1 };
    long t0 = now_ms();
    uint32_t s1 = send_submit(fd, &m);
    uint32_t s2 = send_submit(fd, &m);
    send_header(fd, ENQUIRE_LINK, 0, next_seq++);
    uint8_t buf[512];
    /* enquire_link is answered at once, ahead of the held submit answers */
    ck_assert_int_eq(recv_frame(fd, buf, sizeof buf, 300), 16);
    ck_assert_uint_eq(get32(buf + 4), ENQUIRE_LINK_RESP);
    ck_assert_uint_eq(read_submit_resp(fd, s1, NULL, 0), ESME_ROK);
    ck_assert_uint_eq(read_submit_resp(fd, s2, NULL, 0), ESME_ROK);
    ck_assert_int_ge(now_ms() - t0, 350);
    ctl_ok("slow 0");
    t0 = now_ms();
    ck_assert_uint_eq(submit_text(fd, &m, NULL, 0), ESME_ROK);
    ck_assert_int_lt(now_ms() - t0, 300);
    close(fd);
    sim_stop();
}
END_TEST

START_TEST(test_enquire_link_on_off)
{
    sim_start(NULL);
    int fd = connect_bound(BIND_TRANSCEIVER);
    uint8_t buf[512];
    uint32_t seq = next_seq++;
    send_header(fd, ENQUIRE_LINK, 0, seq);
    ck_assert_int_eq(recv_frame(fd, buf, sizeof buf, 1000), 16);
    ck_assert_uint_eq(get32(buf + 4), ENQUIRE_LINK_RESP);
    ck_assert_uint_eq(get32(buf + 12), seq);
    ctl_ok("enquire off");
    send_header(fd, ENQUIRE_LINK, 0, next_seq++);
    ck_assert_int_eq(recv_frame(fd, buf, sizeof buf, 300), -1);
    ctl_ok("enquire on");
    send_header(fd, ENQUIRE_LINK, 0, next_seq++);
    ck_assert_int_eq(recv_frame(fd, buf, sizeof buf, 1000), 16);
    ck_assert_uint_eq(get32(buf + 4), ENQUIRE_LINK_RESP);
    ck_assert_int_eq(status_value("enquires"), 3);
    close(fd);
    sim_stop();
}
END_TEST

START_TEST(test_unknown_command_and_bad_length)
{
    sim_start(NULL);
    int fd = connect_bound(BIND_TRANSCEIVER);
    uint8_t buf[512];
    send_header(fd, 0x00000999, 0, 4242);
    ck_assert_int_eq(recv_frame(fd, buf, sizeof buf, 1000), 16);
    ck_assert_uint_eq(get32(buf + 4), GENERIC_NACK);
    ck_assert_uint_eq(get32(buf + 8), ESME_RINVCMDID);
    ck_assert_uint_eq(get32(buf + 12), 4242);
    /* still usable */
    struct msg m = { .sm = (const uint8_t *)"x", .len = 1 };
    ck_assert_uint_eq(submit_text(fd, &m, NULL, 0), ESME_ROK);
    /* a command_length below the header cannot be framed: nack, then close */
    static const uint8_t bad[16] = {0, 0, 0, 8, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 9};
    write_all(fd, bad, sizeof bad);
    ck_assert_int_eq(recv_frame(fd, buf, sizeof buf, 1000), 16);
    ck_assert_uint_eq(get32(buf + 4), GENERIC_NACK);
    ck_assert_uint_eq(get32(buf + 8), ESME_RINVCMDLEN);
    ck_assert(is_eof(fd, 1000));
    close(fd);
    sim_stop();
}
END_TEST

START_TEST(test_unbind)
{
    sim_start(NULL);
    int fd = connect_bound(BIND_TRANSCEIVER);
    uint8_t buf[512];
    uint32_t seq = next_seq++;
    send_header(fd, UNBIND, 0, seq);
    ck_assert_int_eq(recv_frame(fd, buf, sizeof buf, 1000), 16);
    ck_assert_uint_eq(get32(buf + 4), UNBIND_RESP);
    ck_assert_uint_eq(get32(buf + 12), seq);
    ck_assert(is_eof(fd, 1000));
    close(fd);
    /* the simulator asks a client to unbind */
    fd = connect_bound(BIND_TRANSCEIVER);
    ck_assert_str_eq(ctl("unbind"), "ok unbind conns=1");
    int n = expect_frame(fd, UNBIND, buf, sizeof buf);
    ck_assert_int_eq(n, 16);
    send_header(fd, UNBIND_RESP, 0, get32(buf + 12));
    ck_assert(is_eof(fd, 1000));
    close(fd);
    sim_stop();
}
END_TEST

START_TEST(test_drop_mid_window)
{
    sim_start(NULL);
    int fd = connect_bound(BIND_TRANSCEIVER);
    ctl_ok("drop after 2");
    struct msg m = { .sm = (const uint8_t *)"x", .len = 1 };
    uint32_t seq[4];
    for (int i = 0; i < 4; i++)
        seq[i] = send_submit(fd, &m);
    ck_assert_uint_eq(read_submit_resp(fd, seq[0], NULL, 0), ESME_ROK);
    ck_assert_uint_eq(read_submit_resp(fd, seq[1], NULL, 0), ESME_ROK);
    ck_assert(is_eof(fd, 1000));
    close(fd);
    ck_assert_int_eq(status_value("drops"), 1);
    ck_assert_int_eq(status_value("accepted"), 2);
    /* one-shot: a new connection works normally */
    fd = connect_bound(BIND_TRANSCEIVER);
    ck_assert_uint_eq(submit_text(fd, &m, NULL, 0), ESME_ROK);
    close(fd);
    sim_stop();
}
END_TEST

START_TEST(test_malformed_pdus)
{
    sim_start(NULL);
    int fd = connect_bound(BIND_TRANSCEIVER);
    uint8_t buf[512];
    ck_assert_str_eq(ctl("malformed length"), "ok malformed length conns=1");
    ck_assert_int_eq(recv_frame(fd, buf, sizeof buf, 1000), 8); /* command_length 8 */
    ck_assert_str_eq(ctl("malformed body"), "ok malformed body conns=1");
    int n = recv_frame(fd, buf, sizeof buf, 1000);
    ck_assert_int_eq(n, 22);
    ck_assert_uint_eq(get32(buf + 4), DELIVER_SM);
    deliver_sm_t d;
    memset(&d, 0, sizeof d);
    ck_assert_int_ne(smpp34_unpack(DELIVER_SM, &d, buf, n), 0);
    destroy_tlv(d.tlv);
    ck_assert(strncmp(ctl("malformed nonsense"), "error", 5) == 0);
    close(fd);
    sim_stop();
}
END_TEST

START_TEST(test_several_connections)
{
    sim_start(NULL);
    int a = connect_bound(BIND_TRANSCEIVER), b = connect_bound(BIND_TRANSMITTER);
    struct msg m = { .sm = (const uint8_t *)"x", .len = 1 };
    char ids[20][70];
    uint32_t sa[10], sb[10];
    for (int i = 0; i < 10; i++) {
        sa[i] = send_submit(a, &m);
        sb[i] = send_submit(b, &m);
    }
    for (int i = 0; i < 10; i++) {
        ck_assert_uint_eq(read_submit_resp(a, sa[i], ids[i], sizeof ids[i]), ESME_ROK);
        ck_assert_uint_eq(read_submit_resp(b, sb[i], ids[10 + i], sizeof ids[i]), ESME_ROK);
    }
    for (int i = 0; i < 20; i++)
        for (int j = i + 1; j < 20; j++)
            ck_assert_str_ne(ids[i], ids[j]);
    ck_assert_int_eq(status_value("connections"), 2);
    close(a);
    close(b);
    sim_stop();
}
END_TEST

START_TEST(test_data_sm_payload)
{
    sim_start(NULL);
    int fd = connect_bound(BIND_TRANSCEIVER);
    data_sm_t d;
    uint8_t buf[512];
    memset(&d, 0, sizeof d);
    d.command_id = DATA_SM;
    d.sequence_number = next_seq++;
    d.dest_addr_ton = 1;
    d.dest_addr_npi = 1;
    snprintf((char *)d.source_addr, sizeof d.source_addr, "Homing");
    snprintf((char *)d.destination_addr, sizeof d.destination_addr, "353870000003");
    d.data_coding = 8;
    tlv_t t;
    memset(&t, 0, sizeof t);
    t.tag = TLVID_message_payload;
    t.length = 4;
    memcpy(t.value.octet, "\x00h\x00i", 4);
    build_tlv(&d.tlv, &t);
    send_pdu(fd, &d);
    destroy_tlv(d.tlv);
    int n = expect_frame(fd, DATA_SM_RESP, buf, sizeof buf);
    ck_assert_uint_eq(get32(buf + 8), ESME_ROK);
    ck_assert_uint_eq(get32(buf + 12), d.sequence_number);
    ck_assert_int_gt(n, 17);
    json_t *j = log_line(0);
    ck_assert_str_eq(jstr(j, "kind"), "data_sm");
    ck_assert_str_eq(jstr(j, "message_id"), (char *)buf + 16);
    ck_assert_str_eq(jstr(j, "text"), "hi");
    ck_assert_str_eq(jstr(j, "message_payload"), "00680069");
    json_decref(j);
    close(fd);
    sim_stop();
}
END_TEST

START_TEST(test_mo_payload_and_udh16)
{
    sim_start(NULL);
    int fd = connect_bound(BIND_TRANSCEIVER);
    char text[400];
    memset(text, 'x', 300);
    strcpy(text + 300, "\xE2\x82\xAC"); /* 302 septet octets with the escape */
    const char *a = ctl("mo --concat payload 123 456 %s", text);
    ck_assert_msg(strncmp(a, "ok mo parts=1 sent=1", 20) == 0, "%s", a);
    struct dsm d;
    recv_deliver(fd, &d);
    ck_assert_uint_eq(d.p.sm_length, 0);
    /* 16-bit reference UDH; an escape is never split from its character */
    memset(text, 'y', 151); /* 151 + 2 (escape at the 152-octet cut) + 9 = 162 */
    strcpy(text + 151, "\xE2\x82\xAC" "zzzzzzzzz");
    a = ctl("mo --concat udh16 --ref 513 123 456 %s", text);
    ck_assert_msg(strncmp(a, "ok mo parts=2 sent=2 ref=513", 28) == 0, "%s", a);
    recv_deliver(fd, &d);
    static const uint8_t h[] = {6, 8, 4, 2, 1, 2, 1};
    ck_assert(memcmp(d.p.short_message, h, sizeof h) == 0);
    ck_assert_uint_eq(d.p.sm_length, 7 + 151);
    recv_deliver(fd, &d);
    ck_assert_uint_eq(d.p.short_message[6], 2);
    ck_assert_uint_eq(d.p.sm_length, 7 + 11);
    ck_assert_uint_eq(d.p.short_message[7], 0x1B);
    ck_assert_uint_eq(d.p.short_message[8], 0x65);
    close(fd);
    sim_stop();
}
END_TEST

START_TEST(test_drop_at_once_and_close)
{
    sim_start(NULL);
    int fd = connect_bound(BIND_TRANSCEIVER);
    ctl_ok("drop after 0");
    struct msg m = { .sm = (const uint8_t *)"x", .len = 1 };
    send_submit(fd, &m);
    ck_assert(is_eof(fd, 1000));
    close(fd);
    fd = connect_bound(BIND_TRANSCEIVER);
    ck_assert_str_eq(ctl("close"), "ok close conns=1");
    ck_assert(is_eof(fd, 1000));
    close(fd);
    sim_stop();
}
END_TEST

/* A submit_sm written by hand, with the TLV bytes given; returns its seq. */
static uint32_t send_raw_submit(int fd, const uint8_t *tlv, size_t tlv_len)
{
    static const uint8_t body[] = {0, 5, 0, 'H', 0, 1, 1, '1', '2', 0, 0, 0, 0, 0, 0,
                                   0, 0, 0, 0, 2, 'h', 'i'};
    uint8_t buf[256];
    uint32_t seq = next_seq++, len = (uint32_t)(16 + sizeof body + tlv_len);
    uint32_t words[4] = {len, SUBMIT_SM, 0, seq};
    for (int i = 0; i < 16; i++)
        buf[i] = (uint8_t)(words[i / 4] >> (24 - 8 * (i % 4)));
    memcpy(buf + 16, body, sizeof body);
    if (tlv_len)
        memcpy(buf + 16 + sizeof body, tlv, tlv_len);
    write_all(fd, buf, len);
    return seq;
}

START_TEST(test_malformed_submits_rejected)
{
    sim_start(NULL);
    int fd = connect_bound(BIND_TRANSCEIVER);
    static const uint8_t good[] = {0x02, 0x0E, 0, 1, 3};       /* sar_total_segments 3 */
    static const uint8_t badlen[] = {0x02, 0x0E, 0, 2, 0, 3};  /* an integer TLV of 2 */
    static const uint8_t overrun[] = {0x04, 0x24, 0, 50, 'a'}; /* payload past the end */
    static const uint8_t half_header[] = {0x04, 0x24, 0};      /* half a TLV header */
    ck_assert_uint_eq(read_submit_resp(fd, send_raw_submit(fd, good, sizeof good), NULL, 0),
                      ESME_ROK);
    ck_assert_uint_eq(read_submit_resp(fd, send_raw_submit(fd, badlen, sizeof badlen), NULL, 0),
                      ESME_RINVPARLEN);
    ck_assert_uint_eq(read_submit_resp(fd, send_raw_submit(fd, overrun, sizeof overrun), NULL, 0),
                      ESME_RINVOPTPARSTREAM);
    uint32_t half = send_raw_submit(fd, half_header, sizeof half_header);
    ck_assert_uint_eq(read_submit_resp(fd, half, NULL, 0), ESME_RINVOPTPARSTREAM);
    /* the connection is still good, and nothing leaked (sim_stop checks ASan) */
    ck_assert_uint_eq(read_submit_resp(fd, send_raw_submit(fd, NULL, 0), NULL, 0), ESME_ROK);
    json_t *j = log_line(1);
    ck_assert_str_eq(jstr(j, "text"), "hi");
    ck_assert_str_eq(jstr(j, "destination.addr"), "12");
    json_decref(j);
    close(fd);
    sim_stop();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("smsc_sim");
    TCase *tc = tcase_create("smpp");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_bind_and_failures);
    tcase_add_test(tc, test_submit_before_bind);
    tcase_add_test(tc, test_submit_gsm_ucs2_latin1_logged);
    tcase_add_test(tc, test_submit_concat_methods);
    tcase_add_test(tc, test_strict_lengths);
    tcase_add_test(tc, test_receipt_text_decimal);
    tcase_add_test(tc, test_receipt_tlv_hex_undeliv);
    tcase_add_test(tc, test_receipt_both_hex_resp_decimal_receipt);
    tcase_add_test(tc, test_receipt_waits_for_receiver);
    tcase_add_test(tc, test_mo_single_and_concat);
    tcase_add_test(tc, test_mo_needs_receiver);
    tcase_add_test(tc, test_throttle_every_and_seeded);
    tcase_add_test(tc, test_slow_answers);
    tcase_add_test(tc, test_enquire_link_on_off);
    tcase_add_test(tc, test_unknown_command_and_bad_length);
    tcase_add_test(tc, test_unbind);
    tcase_add_test(tc, test_drop_mid_window);
    tcase_add_test(tc, test_malformed_pdus);
    tcase_add_test(tc, test_several_connections);
    tcase_add_test(tc, test_data_sm_payload);
    tcase_add_test(tc, test_mo_payload_and_udh16);
    tcase_add_test(tc, test_drop_at_once_and_close);
    tcase_add_test(tc, test_malformed_submits_rejected);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
