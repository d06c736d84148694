/*
 * test_modem_sim: tools/modem-sim driven the way the gateway will drive it,
 * with raw AT commands over its pseudo-terminal and its control socket.
 *
 * The simulator's PDU codec is pinned by published vectors first: it is
 * compiled in here directly (it is one self-contained file with no state),
 * because the simulator must not share code with homing's own codec, so
 * nothing else can vouch for it. Vector sources:
 *   [DF]  "SMS messages and the PDU format" (dreamfabric.com, mirrored at
 *         http://www.turbocontrol.com/CoolStuff/SMS%20messages%20and%20the%20PDU%20format.htm
 *         and http://subnets.ru/saved/sms_pdu_format.html): the SMS-SUBMIT
 *         0011000B916407281553F80000AA0AE8329BFD4697D9EC37 and the SMS-DELIVER
 *         07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37,
 *         both carrying "hellohello" = E8329BFD4697D9EC37.
 *   [NK]  Nokia developer forum, "how to send UCS character": the UCS-2
 *         SMS-DELIVER 07910201956905F0040B910201014160F30008202191305215800406 28062A.
 *   [AM]  amro.blogspot.com/2007/09/receiving-sms-status-report-message.html:
 *         the SMS-STATUS-REPORT 06000B910221815716F2709021510121807090215101718000.
 * Other vectors (a 7-bit SUBMIT with a concat UDH and fill bit, a UCS-2
 * SUBMIT) were computed with a separate throw-away Python packer, not with
 * this code.
 *
 * Every test starts its own simulator in a fresh directory, bounds every
 * wait with poll(), and stops the simulator itself (SIGTERM; a clean exit
 * also means no sanitizer or leak report).
 */
#include "tests/harness.h"
#include "tests/testutil.h"
#include "tools/modem-sim/simpdu.c"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define DF_SUBMIT "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
#define DF_DELIVER "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
#define NK_DELIVER "07910201956905F0040B910201014160F300082021913052158004062806" "2A"
#define AM_REPORT_TPDU "06000B910221815716F2709021510121807090215101718000"
/* Python-packed: UDH 05 00 03 CC 02 01, one fill bit, "hello", SRR, VP A7. */
#define PY_SUBMIT_UDH "0071000B915383172354F60000A70C050003CC0201D06536FB0D"
/* Python-packed: UCS-2 "Grüße €", no validity period. */
#define PY_SUBMIT_UCS2 "0001000B915383172354F600080E0047007200FC00DF0065002020AC"

struct port {
    int fd;
    char buf[16384];
    size_t len;
    char last[16384];      /* what the last port_expect consumed */
};

struct sim {
    pid_t pid;
    char dir[512];
    char ctl_path[600];
    char log_path[600];
    char m1[600];
    char m2[600];
    int ctl;
    struct port p;
    char reply[8192];
};

static struct sim S;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- simulator process ----------------------------------------------------- */

static void wait_ready(int fd)
{
    char buf[256];
    size_t len = 0;
    long end = now_ms() + 10000;
    while (now_ms() < end && len + 1 < sizeof buf) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        if (strstr(buf, "ready"))
            return;
    }
    ck_abort_msg("modem-sim did not become ready");
}

static int tty_open(const char *path)
{
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
    struct termios t;
    ck_assert_int_eq(tcgetattr(fd, &t), 0);
    cfmakeraw(&t);
    ck_assert_int_eq(tcsetattr(fd, TCSANOW, &t), 0);
    return fd;
}

/* Starts modem-sim with two modems (m1, m2) plus extra arguments (NULL-ended). */
static void sim_start_with(const char *extra, ...)
{
    snprintf(S.dir, sizeof S.dir, "%s", testutil_tmpdir());
    snprintf(S.ctl_path, sizeof S.ctl_path, "%s/ctl.sock", S.dir);
    snprintf(S.log_path, sizeof S.log_path, "%s/submits.jsonl", S.dir);
    snprintf(S.m1, sizeof S.m1, "%s/m1", S.dir);
    snprintf(S.m2, sizeof S.m2, "%s/m2", S.dir);
    char spec1[700], spec2[700];
    snprintf(spec1, sizeof spec1, "m1:%s", S.m1);
    snprintf(spec2, sizeof spec2, "m2:%s", S.m2);
    const char *argv[32] = {testutil_program("modem-sim"), "--control", S.ctl_path, "--log",
                            S.log_path, "--modem", spec1, "--modem", spec2};
    int argc = 9;
    va_list ap;
    va_start(ap, extra);
    for (const char *a = extra; a && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    S.pid = fork();
    ck_assert_int_ge(S.pid, 0);
    if (S.pid == 0) {
        /* Should this test die on an assertion, the simulator goes with it. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        char *av[32];
        for (int k = 0; k <= argc; k++)
            av[k] = argv[k] ? strdup(argv[k]) : NULL;
        execv(av[0], av);
        _exit(127);
    }
    close(pipefd[1]);
    wait_ready(pipefd[0]);
    close(pipefd[0]);
    S.ctl = harness_ctl_connect(S.ctl_path);
    S.p = (struct port){.fd = tty_open(S.m1)};
}

static void sim_start(void)
{
    sim_start_with(NULL);
}

/* Stops the simulator and checks it exited cleanly (no sanitizer report). */
static void sim_stop(void)
{
    pid_t pid = S.pid;
    if (pid <= 0)
        return;
    S.pid = 0;
    close(S.p.fd);
    close(S.ctl);
    kill(pid, SIGTERM);
    int status = 0;
    long end = now_ms() + 5000;
    pid_t r;
    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < end)
        poll(NULL, 0, 20);
    if (r == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    ck_assert_msg(r == pid, "modem-sim did not stop on SIGTERM");
    /* The simulator removed its links and socket; the log and directory are ours. */
    unlink(S.log_path);
    rmdir(S.dir);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "modem-sim exit status %d", status);
}

/* Sends one control line; returns the reply line (without the newline). */
static const char *ctl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *ctl(const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    line[n++] = '\n';
    ck_assert_int_eq(write(S.ctl, line, (size_t)n), n);
    size_t len = 0;
    long end = now_ms() + 3000;
    while (now_ms() < end && len + 1 < sizeof S.reply) {
        struct pollfd pfd = {S.ctl, POLLIN, 0};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        ssize_t r = read(S.ctl, S.reply + len, 1);
        if (r <= 0)
            break;
        if (S.reply[len] == '\n') {
            S.reply[len] = '\0';
            return S.reply;
        }
        len++;
    }
    ck_abort_msg("no control reply to: %s", line);
    return NULL;
}

/* ---- the pty ------------------------------------------------------------------ */

static void port_send(struct port *p, const char *s)
{
    size_t n = strlen(s);
    ck_assert_int_eq(write(p->fd, s, n), (ssize_t)n);
}

/* Reads until `needle` shows up; moves everything up to it into p->last. */
static bool port_expect(struct port *p, const char *needle, int ms)
{
    long end = now_ms() + ms;
    for (;;) {
        p->buf[p->len] = '\0';
        char *hit = strstr(p->buf, needle);
        if (hit) {
            size_t used = (size_t)(hit - p->buf) + strlen(needle);
            memcpy(p->last, p->buf, used);
            p->last[used] = '\0';
            memmove(p->buf, p->buf + used, p->len - used);
            p->len -= used;
            return true;
        }
        long left = end - now_ms();
        if (left <= 0)
            return false;
        struct pollfd pfd = {p->fd, POLLIN, 0};
        if (poll(&pfd, 1, (int)left) <= 0)
            continue;
        ssize_t r = read(p->fd, p->buf + p->len, sizeof p->buf - 1 - p->len);
        if (r <= 0)
            return false;
        p->len += (size_t)r;
    }
}

/* True when nothing at all arrives for ms. */
static bool port_quiet(struct port *p, int ms)
{
    struct pollfd pfd = {p->fd, POLLIN, 0};
    return p->len == 0 && poll(&pfd, 1, ms) == 0;
}

/* Sends a command and waits for its final result; returns the whole response. */
static const char *at(const char *cmd, const char *final)
{
    port_send(&S.p, cmd);
    port_send(&S.p, "\r");
    ck_assert_msg(port_expect(&S.p, final, 3000), "no '%s' after %s; got '%s'", final, cmd,
                  S.p.buf);
    return S.p.last;
}

static void at_ok(const char *cmd)
{
    at(cmd, "\r\nOK\r\n");
}

/* AT+CMGS=<len>, the prompt, the PDU, Ctrl-Z; returns the response. */
static const char *cmgs(int len, const char *pdu, const char *final)
{
    char cmd[32];
    snprintf(cmd, sizeof cmd, "AT+CMGS=%d", len);
    at(cmd, "\r\n> ");
    port_send(&S.p, pdu);
    port_send(&S.p, "\x1a");
    ck_assert_msg(port_expect(&S.p, final, 3000), "no '%s' after PDU; got '%s'", final, S.p.buf);
    return S.p.last;
}

/* Waits for a final error ("ERROR", "+CME ERROR: ..", "+CMS ERROR: ..") and its line end. */
static const char *expect_error(void)
{
    static char both[sizeof S.p.last * 2];
    ck_assert_msg(port_expect(&S.p, "ERROR", 3000), "no ERROR; got '%s'", S.p.buf);
    snprintf(both, sizeof both, "%s", S.p.last);
    ck_assert(port_expect(&S.p, "\r\n", 1000));
    strncat(both, S.p.last, sizeof both - strlen(both) - 1);
    return both;
}

static const char *at_err(const char *cmd)
{
    port_send(&S.p, cmd);
    port_send(&S.p, "\r");
    return expect_error();
}

static const char *cmgs_err(int len, const char *pdu)
{
    char cmd[32];
    snprintf(cmd, sizeof cmd, "AT+CMGS=%d", len);
    at(cmd, "\r\n> ");
    port_send(&S.p, pdu);
    port_send(&S.p, "\x1a");
    return expect_error();
}

/* The n-th (0-based) line of the submit log as JSON; the caller decrefs. */
static json_t *log_line(int n)
{
    FILE *f = fopen(S.log_path, "r");
    ck_assert_ptr_nonnull(f);
    char line[8192];
    json_t *j = NULL;
    for (int k = 0; k <= n && fgets(line, sizeof line, f); k++)
        if (k == n)
            j = json_loads(line, 0, NULL);
    fclose(f);
    ck_assert_msg(j != NULL, "no log line %d", n);
    return j;
}

static int log_lines(void)
{
    FILE *f = fopen(S.log_path, "r");
    if (f == NULL)
        return 0;
    int n = 0, ch;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(null)";
}

static long jint(json_t *o, const char *key)
{
    return (long)json_integer_value(json_object_get(o, key));
}

/* ---- codec vectors ---------------------------------------------------------- */

START_TEST(codec_hellohello_packing)
{
    uint8_t sept[10], out[16];
    char hex[40];
    for (int k = 0; k < 10; k++)
        sept[k] = (uint8_t)"hellohello"[k];
    size_t n = simpdu_pack7(sept, 10, 0, out);
    simpdu_hex_encode(out, n, hex);
    ck_assert_str_eq(hex, "E8329BFD4697D9EC37");   /* [DF] */
}
END_TEST

static void decode_hex(const char *hex, struct simpdu_submit *s)
{
    uint8_t b[SIMPDU_MAX_OCTETS];
    char err[64] = "";
    int n = simpdu_hex_decode(hex, strlen(hex), b, sizeof b);
    ck_assert_int_gt(n, 0);
    ck_assert_msg(simpdu_submit_decode(b, (size_t)n, s, err, sizeof err), "decode: %s", err);
}

START_TEST(codec_submit_vectors)
{
    struct simpdu_submit s;
    decode_hex(DF_SUBMIT, &s);
    ck_assert_str_eq(s.to, "+46708251358");
    ck_assert_str_eq(s.text, "hellohello");
    ck_assert_int_eq(s.vp_relative, 0xAA);
    ck_assert_int_eq(s.tpdu_len, 23);
    ck_assert(!s.srr && !s.concat.present && s.enc == SIMPDU_ENC_GSM7);

    decode_hex(PY_SUBMIT_UDH, &s);
    ck_assert_str_eq(s.text, "hello");
    ck_assert(s.srr && s.concat.present);
    ck_assert_int_eq(s.concat.ref, 0xCC);
    ck_assert_int_eq(s.concat.total, 2);
    ck_assert_int_eq(s.concat.seq, 1);
    ck_assert_str_eq(s.to, "+35387132456");

    decode_hex(PY_SUBMIT_UCS2, &s);
    ck_assert_str_eq(s.text, "Grüße €");
    ck_assert_int_eq(s.enc, SIMPDU_ENC_UCS2);
    ck_assert_int_eq(s.vpf, 0);

    decode_hex("0011000B916407281553F80004AA0548656C6C6F", &s);   /* 8-bit "Hello" */
    ck_assert_int_eq(s.enc, SIMPDU_ENC_8BIT);
    ck_assert_str_eq(s.text, "48656C6C6F");

    uint8_t b[8] = {0x00, 0x04, 0x00};   /* an SMS-DELIVER is not a SUBMIT */
    char err[64];
    ck_assert(!simpdu_submit_decode(b, 3, &s, err, sizeof err));
}
END_TEST

START_TEST(codec_deliver_and_report_vectors)
{
    char hex[SIMPDU_MAX_HEX];
    struct simpdu_deliver d = {.smsc = "+27381000015", .from = "27838890001", .from_toa = 0xC8,
                            .scts = 922713419, .tz_quarters = 8, .enc = SIMPDU_ENC_GSM7,
                            .text = "hellohello", .text_len = 10};
    ck_assert_int_eq(simpdu_deliver_encode(&d, hex, sizeof hex), 28);
    ck_assert_str_eq(hex, DF_DELIVER);

    struct simpdu_deliver u = {.smsc = "+20105996500", .from = "+20101014063",
                            .scts = 1040261151, .tz_quarters = 8, .enc = SIMPDU_ENC_UCS2,
                            .text = "\xd8\xa8\xd8\xaa", .text_len = 4};
    ck_assert_int_ge(simpdu_deliver_encode(&u, hex, sizeof hex), 0);
    ck_assert_str_eq(hex, NK_DELIVER);

    struct simpdu_report r = {.smsc = "", .mr = 0, .recipient = "+20121875612",
                           .scts = 1189602612, .dt = 1189602617, .tz_quarters = 8, .st = 0};
    ck_assert_int_eq(simpdu_report_encode(&r, hex, sizeof hex), 25);
    ck_assert_str_eq(hex, "00" AM_REPORT_TPDU);
}
END_TEST

START_TEST(codec_split)
{
    size_t cuts[8];
    const char *t = "abcdefghij";
    ck_assert_int_eq(simpdu_split(t, 10, SIMPDU_ENC_GSM7, 3, cuts, 8), 3);
    ck_assert_uint_eq(cuts[1], 4);
    ck_assert_uint_eq(cuts[2], 8);
    ck_assert_uint_eq(cuts[3], 10);
    char long_text[400];
    memset(long_text, 'x', sizeof long_text);
    ck_assert_int_eq(simpdu_split(long_text, 160, SIMPDU_ENC_GSM7, 0, cuts, 8), 1);
    ck_assert_int_eq(simpdu_split(long_text, 161, SIMPDU_ENC_GSM7, 0, cuts, 8), 2);
    ck_assert_int_eq(simpdu_split(long_text, 307, SIMPDU_ENC_GSM7, 0, cuts, 8), 3);
    ck_assert(!simpdu_gsm7_fits("\xe2\x82\xac\xc3\xbc\xf0\x9f\x98\x80", 9));
    ck_assert(simpdu_gsm7_fits("\xe2\x82\xac\xc3\xbc{}", 7));
}
END_TEST

/* ---- bring-up ------------------------------------------------------------------ */

START_TEST(echo_then_ate0)
{
    sim_start();
    ck_assert_str_eq(at("AT", "OK\r\n"), "AT\r\r\nOK\r\n");
    ck_assert_str_eq(at("ATE0", "OK\r\n"), "ATE0\r\r\nOK\r\n");
    ck_assert_str_eq(at("AT", "OK\r\n"), "\r\nOK\r\n");
    ck_assert_str_eq(at("ATE1", "OK\r\n"), "\r\nOK\r\n");
    ck_assert_str_eq(at("at", "OK\r\n"), "at\r\r\nOK\r\n");
    sim_stop();
}
END_TEST

START_TEST(bringup_commands)
{
    sim_start();
    at_ok("ATZ");
    at_ok("AT&F&C1&D2X4V1Q0S0=0");
    at_ok("ATE0");
    ck_assert_str_eq(at_err("AT&Q9"), "\r\nERROR\r\n");
    ck_assert_ptr_nonnull(strstr(at("AT+CGMI", "OK\r\n"), "homing"));
    ck_assert_ptr_nonnull(strstr(at("AT+CGMM", "OK\r\n"), "modem-sim"));
    ck_assert_ptr_nonnull(strstr(at("AT+CGSN", "OK\r\n"), "\r\n350000000000000\r\n"));
    ck_assert_ptr_nonnull(strstr(at("AT+CIMI", "OK\r\n"), "\r\n272010000000000\r\n"));
    ck_assert_ptr_nonnull(strstr(at("AT+CGMR", "OK\r\n"), "modem-sim"));
    at_ok("AT+CMEE=1;+CMGF=0");
    ck_assert_str_eq(at("AT+CMGF?", "OK\r\n"), "\r\n+CMGF: 0\r\n\r\nOK\r\n");
    ck_assert_str_eq(at_err("AT+CMGF=1"), "\r\n+CME ERROR: 4\r\n");
    at_ok("AT+CSCA=\"+353861234567\",145");
    ck_assert_str_eq(at("AT+CSCA?", "OK\r\n"), "\r\n+CSCA: \"+353861234567\",145\r\n\r\nOK\r\n");
    ck_assert_str_eq(at("AT+CFUN?", "OK\r\n"), "\r\n+CFUN: 1\r\n\r\nOK\r\n");
    at_ok("AT+CFUN=1");
    ck_assert_ptr_nonnull(strstr(at("AT+CNMI=?", "OK\r\n"), "+CNMI: (0-3),(0-3)"));
    at_ok("AT+CNMI=2,1,0,2,0");
    ck_assert_str_eq(at("AT+CNMI?", "OK\r\n"), "\r\n+CNMI: 2,1,0,2,0\r\n\r\nOK\r\n");
    ck_assert_str_eq(at("AT+CPMS=\"SM\",\"SM\",\"SM\"", "OK\r\n"),
                     "\r\n+CPMS: 0,20,0,20,0,20\r\n\r\nOK\r\n");
    ck_assert_str_eq(at("AT+CSQ", "OK\r\n"), "\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
    ck_assert_str_eq(at("AT+CREG?", "OK\r\n"), "\r\n+CREG: 0,1\r\n\r\nOK\r\n");
    ck_assert_str_eq(at("AT+COPS?", "OK\r\n"), "\r\n+COPS: 0,0,\"Homing Sim\",0\r\n\r\nOK\r\n");
    ck_assert_str_eq(at("AT+CPIN?", "OK\r\n"), "\r\n+CPIN: READY\r\n\r\nOK\r\n");
    ck_assert_str_eq(at_err("AT+NOPE"), "\r\nERROR\r\n");
    ck_assert_str_eq(ctl("signal 9"), "ok signal=9");
    ck_assert_str_eq(at("AT+CSQ", "OK\r\n"), "\r\n+CSQ: 9,99\r\n\r\nOK\r\n");
    sim_stop();
}
END_TEST

START_TEST(cmee_modes)
{
    sim_start();
    at_ok("ATE0");
    ck_assert_str_eq(at_err("AT+CMGR=99"), "\r\nERROR\r\n");
    at_ok("AT+CMEE=1");
    ck_assert_str_eq(at_err("AT+CMGR=99"), "\r\n+CMS ERROR: 321\r\n");
    at_ok("AT+CMEE=2");
    ck_assert_str_eq(at_err("AT+CMGR=99"), "\r\n+CMS ERROR: invalid memory index\r\n");
    ck_assert_str_eq(at_err("AT+CMGF=1"), "\r\n+CME ERROR: operation not supported\r\n");
    ck_assert_str_eq(at("AT+CMEE?", "OK\r\n"), "\r\n+CMEE: 2\r\n\r\nOK\r\n");
    sim_stop();
}
END_TEST

START_TEST(pin_flow_to_puk_and_back)
{
    sim_start_with("--pin", "1234", NULL);
    at_ok("ATE0");
    at_ok("AT+CMEE=1");
    ck_assert_str_eq(at("AT+CPIN?", "OK\r\n"), "\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n");
    ck_assert_str_eq(at_err("AT+CIMI"), "\r\n+CME ERROR: 11\r\n");
    ck_assert_str_eq(at_err("AT+CMGS=23"), "\r\n+CMS ERROR: 311\r\n");
    ck_assert_str_eq(at("AT+CREG?", "OK\r\n"), "\r\n+CREG: 0,0\r\n\r\nOK\r\n");
    for (int k = 0; k < 3; k++)
        ck_assert_str_eq(at_err("AT+CPIN=\"0000\""), "\r\n+CME ERROR: 16\r\n");
    ck_assert_str_eq(at("AT+CPIN?", "OK\r\n"), "\r\n+CPIN: SIM PUK\r\n\r\nOK\r\n");
    ck_assert_str_eq(at_err("AT+CPIN=\"1234\""), "\r\n+CME ERROR: 16\r\n");
    ck_assert_str_eq(at_err("AT+CIMI"), "\r\n+CME ERROR: 12\r\n");
    at_ok("AT+CPIN=\"12345678\",\"4321\"");
    ck_assert_str_eq(at("AT+CPIN?", "OK\r\n"), "\r\n+CPIN: READY\r\n\r\nOK\r\n");
    ck_assert_ptr_nonnull(strstr(ctl("status"), " pin=ready "));
    sim_stop();
}
END_TEST

START_TEST(pin_unlock_registers)
{
    sim_start();
    at_ok("ATE0");
    ck_assert_str_eq(ctl("pin 1111"), "ok pin=required");
    at_ok("AT+CREG=1");
    at_ok("AT+CPIN=\"1111\"");
    ck_assert(port_expect(&S.p, "\r\n+CREG: 1\r\n", 2000));
    ck_assert_str_eq(at("AT+CREG?", "OK\r\n"), "\r\n+CREG: 1,1\r\n\r\nOK\r\n");
    sim_stop();
}
END_TEST

START_TEST(creg_urc_on_loss_and_regain)
{
    sim_start();
    at_ok("ATE0");
    at_ok("AT+CMEE=1");
    at_ok("AT+CREG=1");
    ck_assert_str_eq(ctl("register 0"), "ok creg=0");
    ck_assert(port_expect(&S.p, "\r\n+CREG: 0\r\n", 2000));
    ck_assert_str_eq(cmgs_err(23, DF_SUBMIT), "\r\n+CMS ERROR: 331\r\n");
    ck_assert_str_eq(ctl("register 5"), "ok creg=5");
    ck_assert(port_expect(&S.p, "\r\n+CREG: 5\r\n", 2000));
    ck_assert_str_eq(at("AT+CREG?", "OK\r\n"), "\r\n+CREG: 1,5\r\n\r\nOK\r\n");
    cmgs(23, DF_SUBMIT, "\r\n+CMGS: 0\r\n\r\nOK\r\n");
    sim_stop();
}
END_TEST

/* ---- sending ---------------------------------------------------------------------- */

START_TEST(cmgs_prompt_and_log)
{
    sim_start();
    ck_assert_str_eq(at("AT+CMGS=23", "> "), "AT+CMGS=23\r\r\n> ");
    port_send(&S.p, DF_SUBMIT "\x1a");
    ck_assert(port_expect(&S.p, "\r\n+CMGS: 0\r\n\r\nOK\r\n", 3000));
    /* Echo on: the PDU characters come back before the result. */
    ck_assert_str_eq(S.p.last, DF_SUBMIT "\r\n+CMGS: 0\r\n\r\nOK\r\n");
    json_t *j = log_line(0);
    ck_assert_str_eq(jstr(j, "modem"), "m1");
    ck_assert_int_eq(jint(j, "mr"), 0);
    ck_assert_str_eq(jstr(j, "to"), "+46708251358");
    ck_assert_str_eq(jstr(j, "text"), "hellohello");
    ck_assert_str_eq(jstr(j, "encoding"), "gsm7");
    ck_assert_int_eq(jint(j, "dcs"), 0);
    ck_assert(json_is_false(json_object_get(j, "srr")));
    ck_assert(json_is_null(json_object_get(j, "concat")));
    ck_assert_int_eq(jint(json_object_get(j, "validity"), "relative"), 0xAA);
    ck_assert_str_eq(jstr(j, "pdu"), DF_SUBMIT);
    ck_assert_int_eq(strlen(jstr(j, "time")), 24);
    json_decref(j);
    at_ok("ATE0");
    cmgs(23, DF_SUBMIT, "\r\n+CMGS: 1\r\n\r\nOK\r\n");
    ck_assert_ptr_nonnull(strstr(ctl("status"), " submits=2 "));
    sim_stop();
}
END_TEST

START_TEST(cmgs_concat_and_ucs2_logged)
{
    sim_start();
    at_ok("ATE0");
    cmgs(25, PY_SUBMIT_UDH, "\r\n+CMGS: 0\r\n\r\nOK\r\n");
    cmgs(27, PY_SUBMIT_UCS2, "\r\n+CMGS: 1\r\n\r\nOK\r\n");
    json_t *j = log_line(0);
    ck_assert_str_eq(jstr(j, "text"), "hello");
    ck_assert(json_is_true(json_object_get(j, "srr")));
    json_t *cc = json_object_get(j, "concat");
    ck_assert_int_eq(jint(cc, "ref"), 0xCC);
    ck_assert_int_eq(jint(cc, "total"), 2);
    ck_assert_int_eq(jint(cc, "seq"), 1);
    json_decref(j);
    j = log_line(1);
    ck_assert_str_eq(jstr(j, "text"), "Grüße €");
    ck_assert_str_eq(jstr(j, "encoding"), "ucs2");
    ck_assert_int_eq(jint(j, "dcs"), 8);
    ck_assert(json_is_null(json_object_get(j, "validity")));
    json_decref(j);
    sim_stop();
}
END_TEST

START_TEST(cmgs_mr_wraps)
{
    sim_start();
    at_ok("ATE0");
    char want[64];
    for (int k = 0; k < 257; k++) {
        snprintf(want, sizeof want, "\r\n+CMGS: %d\r\n\r\nOK\r\n", k % 256);
        cmgs(23, DF_SUBMIT, want);
    }
    ck_assert_int_eq(log_lines(), 257);
    sim_stop();
}
END_TEST

START_TEST(esc_cancels)
{
    sim_start();
    at_ok("ATE0");
    at("AT+CMGS=23", "> ");
    port_send(&S.p, "0011000B91\x1b");
    ck_assert(port_expect(&S.p, "\r\nOK\r\n", 2000));
    at_ok("AT");
    ck_assert_int_eq(log_lines(), 0);
    ck_assert_ptr_nonnull(strstr(ctl("status"), " cancelled=1 "));
    cmgs(23, DF_SUBMIT, "\r\n+CMGS: 0\r\n\r\nOK\r\n");
    sim_stop();
}
END_TEST

START_TEST(wrong_length_is_304)
{
    sim_start();
    at_ok("ATE0");
    at_ok("AT+CMEE=1");
    ck_assert_str_eq(cmgs_err(22, DF_SUBMIT), "\r\n+CMS ERROR: 304\r\n");
    ck_assert_str_eq(cmgs_err(24, DF_SUBMIT), "\r\n+CMS ERROR: 304\r\n");
    ck_assert_str_eq(cmgs_err(23, "00110"), "\r\n+CMS ERROR: 304\r\n");
    ck_assert_int_eq(log_lines(), 0);
    ck_assert_ptr_nonnull(strstr(ctl("status"), " bad_pdus=3 "));
    sim_stop();
}
END_TEST

START_TEST(injected_cms_errors)
{
    sim_start();
    at_ok("ATE0");
    at_ok("AT+CMEE=1");
    ck_assert_str_eq(ctl("fail 2"), "ok fail=2 code=500");
    ck_assert_str_eq(cmgs_err(23, DF_SUBMIT), "\r\n+CMS ERROR: 500\r\n");
    at_ok("AT+CMEE=2");
    ck_assert_str_eq(cmgs_err(23, DF_SUBMIT), "\r\n+CMS ERROR: unknown error\r\n");
    cmgs(23, DF_SUBMIT, "\r\n+CMGS: 0\r\n\r\nOK\r\n");
    ck_assert_str_eq(ctl("fail 1 332"), "ok fail=1 code=332");
    at_ok("AT+CMEE=0");
    ck_assert_str_eq(cmgs_err(23, DF_SUBMIT), "\r\nERROR\r\n");
    ck_assert_int_eq(log_lines(), 1);
    sim_stop();
}
END_TEST

START_TEST(latency_delays_the_answer)
{
    sim_start();
    at_ok("ATE0");
    ck_assert_str_eq(ctl("latency 1000"), "ok latency=1000");
    at("AT+CMGS=23", "> ");
    long t0 = now_ms();
    port_send(&S.p, DF_SUBMIT "\x1a");
    /* A command typed during the wait is answered after the send finishes. */
    port_send(&S.p, "AT+CSQ\r");
    ck_assert(!port_expect(&S.p, "+CMGS", 600));
    ck_assert(port_expect(&S.p, "\r\n+CMGS: 0\r\n\r\nOK\r\n", 3000));
    ck_assert_int_ge(now_ms() - t0, 900);
    ck_assert(port_expect(&S.p, "\r\n+CSQ: 20,99\r\n\r\nOK\r\n", 2000));
    sim_stop();
}
END_TEST

/* ---- receiving ---------------------------------------------------------------------- */

START_TEST(urc_between_echo_and_ok)
{
    sim_start();
    at_ok("AT+CNMI=2,1,0,2,0");
    ck_assert_str_eq(ctl("urc-timing next"), "ok urc-timing=next");
    ck_assert_str_eq(ctl("sms +353871234567 hi"), "ok parts=1 ref=1 at=1");
    ck_assert(port_quiet(&S.p, 300));
    ck_assert_str_eq(at("AT", "OK\r\n"), "AT\r\r\n+CMTI: \"SM\",1\r\n\r\nOK\r\n");
    ck_assert_str_eq(ctl("urc-timing now"), "ok urc-timing=now");
    ck_assert_str_eq(ctl("urc RING"), "ok");
    ck_assert(port_expect(&S.p, "\r\nRING\r\n", 2000));
    sim_stop();
}
END_TEST

START_TEST(inbound_cmti_cmgr_cmgd)
{
    sim_start();
    at_ok("ATE0");
    at_ok("AT+CMEE=1");
    at_ok("AT+CNMI=2,1,0,2,0");
    ck_assert_str_eq(ctl("pdu " DF_DELIVER), "ok at=1");
    ck_assert(port_expect(&S.p, "\r\n+CMTI: \"SM\",1\r\n", 2000));
    ck_assert_str_eq(at("AT+CMGR=1", "OK\r\n"),
                     "\r\n+CMGR: 0,,28\r\n" DF_DELIVER "\r\n\r\nOK\r\n");
    ck_assert_str_eq(at("AT+CMGR=1", "OK\r\n"),
                     "\r\n+CMGR: 1,,28\r\n" DF_DELIVER "\r\n\r\nOK\r\n");
    at_ok("AT+CMGD=1");
    ck_assert_str_eq(at_err("AT+CMGR=1"), "\r\n+CMS ERROR: 321\r\n");
    /* Text injection, pinned to the [DF] vector's fields: the same PDU comes out. */
    ck_assert_str_eq(ctl("sms --smsc +27381000015 --toa 0xC8 --time 922713419 --tz 8 "
                         "27838890001 hellohello"), "ok parts=1 ref=1 at=1");
    ck_assert(port_expect(&S.p, "\r\n+CMTI: \"SM\",1\r\n", 2000));
    ck_assert_str_eq(at("AT+CMGR=1", "OK\r\n"),
                     "\r\n+CMGR: 0,,28\r\n" DF_DELIVER "\r\n\r\nOK\r\n");
    sim_stop();
}
END_TEST

START_TEST(inbound_multipart_any_order)
{
    sim_start();
    at_ok("ATE0");
    at_ok("AT+CNMI=2,1,0,2,0");
    ck_assert_str_eq(ctl("sms --parts 3 --ref 7 --order 3,1,2 +353871234567 \"aaaa bbbb cccc\""),
                     "ok parts=3 ref=7 at=1,2,3");
    ck_assert(port_expect(&S.p, "\r\n+CMTI: \"SM\",3\r\n", 2000));
    const char *r = at("AT+CMGR=1", "OK\r\n");
    ck_assert_ptr_nonnull(strstr(r, "050003070303"));   /* concat ref 7, part 3 of 3 */
    r = at("AT+CMGR=2", "OK\r\n");
    ck_assert_ptr_nonnull(strstr(r, "050003070301"));
    /* UCS-2 chosen on its own for text outside the GSM alphabet. */
    ck_assert_str_eq(ctl("sms +353871234567 \"\xf0\x9f\x98\x80\""), "ok parts=1 ref=1 at=4");
    r = at("AT+CMGR=4", "OK\r\n");
    ck_assert_ptr_nonnull(strstr(r, "0008"));
    ck_assert_ptr_nonnull(strstr(r, "04D83DDE00\r\n"));
    sim_stop();
}
END_TEST

START_TEST(inbound_direct_cmt_and_cnma)
{
    sim_start();
    at_ok("ATE0");
    at_ok("AT+CMEE=1");
    at_ok("AT+CNMI=2,2,0,1,0");
    ck_assert_str_eq(ctl("pdu " DF_DELIVER), "ok at=cmt");
    ck_assert(port_expect(&S.p, "\r\n+CMT: ,28\r\n" DF_DELIVER "\r\n", 2000));
    at_ok("AT+CNMA");
    ck_assert_str_eq(at_err("AT+CNMA"), "\r\n+CMS ERROR: 340\r\n");
    ck_assert_ptr_nonnull(strstr(ctl("status"), " stored=0 "));
    sim_stop();
}
END_TEST

START_TEST(cmgl_lists_prestored)
{
    sim_start();
    /* Stored before the gateway looks: no URC at all. */
    ck_assert_str_eq(ctl("sms --silent +353871111111 first"), "ok parts=1 ref=1 at=1");
    ck_assert_str_eq(ctl("sms --silent --read +353872222222 second"), "ok parts=1 ref=1 at=2");
    ck_assert(port_quiet(&S.p, 300));
    at_ok("ATE0");
    at_ok("AT+CMEE=1");
    const char *r = at("AT+CMGL=0", "OK\r\n");
    ck_assert_ptr_nonnull(strstr(r, "\r\n+CMGL: 1,0,,"));
    ck_assert_ptr_null(strstr(r, "+CMGL: 2"));
    r = at("AT+CMGL=4", "OK\r\n");
    ck_assert_ptr_nonnull(strstr(r, "\r\n+CMGL: 1,1,,"));
    ck_assert_ptr_nonnull(strstr(r, "\r\n+CMGL: 2,1,,"));
    ck_assert_str_eq(at_err("AT+CMGL=\"ALL\""), "\r\n+CMS ERROR: 304\r\n");
    ck_assert_str_eq(ctl("sim"), "ok 1:read:deliver 2:read:deliver");
    at_ok("AT+CMGD=1,4");
    ck_assert_str_eq(ctl("sim"), "ok");
    sim_stop();
}
END_TEST

START_TEST(status_reports_direct_and_stored)
{
    sim_start();
    at_ok("ATE0");
    at_ok("AT+CNMI=2,1,0,1,0");
    cmgs(23, DF_SUBMIT, "\r\n+CMGS: 0\r\n\r\nOK\r\n");
    /* The recipient comes from the submit with that TP-MR. */
    ck_assert_str_eq(ctl("report --time 1189602612 0 0"), "ok at=cds");
    ck_assert(port_expect(&S.p, "\r\n+CDS: 25\r\n", 2000));
    ck_assert(port_expect(&S.p, "\r\n", 2000));
    ck_assert_str_eq(S.p.last, "0791538307000000" "06000B916407281553F8"
                               "70902131012100" "70902131012100" "00\r\n");
    at_ok("AT+CNMI=2,1,0,2,0");
    ck_assert_str_eq(ctl("report 0 70"), "ok at=1");
    ck_assert(port_expect(&S.p, "\r\n+CDSI: \"SM\",1\r\n", 2000));
    const char *r = at("AT+CMGR=1", "OK\r\n");
    ck_assert_ptr_nonnull(strstr(r, "\r\n+CMGR: 0,,25\r\n0791538307000000" "06000B916407281553F8"));
    ck_assert_ptr_nonnull(strstr(r, "46\r\n\r\nOK\r\n"));   /* TP-ST 70 = 0x46 */
    ck_assert_str_eq(ctl("report 9 0"), "error no submit with mr 9: give --to");
    sim_stop();
}
END_TEST

/* ---- faults ---------------------------------------------------------------------------- */

START_TEST(hang_and_recover)
{
    sim_start();
    at_ok("ATE0");
    ck_assert_str_eq(ctl("hang"), "ok hung");
    port_send(&S.p, "AT\r");
    ck_assert(port_quiet(&S.p, 500));
    ck_assert_str_eq(ctl("urc ^BOOT:1"), "ok");
    ck_assert(port_quiet(&S.p, 200));
    ck_assert_str_eq(ctl("unhang"), "ok");
    ck_assert_str_eq(at("AT", "OK\r\n"), "\r\nOK\r\n");
    ck_assert_ptr_nonnull(strstr(ctl("status"), " urcs_dropped=1 "));
    sim_stop();
}
END_TEST

START_TEST(unplug_and_replug)
{
    sim_start();
    at_ok("ATE0");
    ck_assert_str_eq(ctl("unplug"), "ok unplugged");
    struct stat st;
    ck_assert_int_ne(lstat(S.m1, &st), 0);
    char b[16];
    struct pollfd pfd = {S.p.fd, POLLIN, 0};
    ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
    ssize_t r = read(S.p.fd, b, sizeof b);
    ck_assert_msg(r == 0 || (r < 0 && errno == EIO), "read after unplug: %zd", r);
    ck_assert_ptr_nonnull(strstr(ctl("replug"), "ok /dev/pts/"));
    ck_assert_int_eq(lstat(S.m1, &st), 0);
    close(S.p.fd);
    S.p = (struct port){.fd = tty_open(S.m1)};
    /* A power cycle: echo is back on. */
    ck_assert_str_eq(at("AT", "OK\r\n"), "AT\r\r\nOK\r\n");
    ck_assert_msg(strstr(ctl("status"), " plugs=2") != NULL, "%s", S.reply);
    sim_stop();
}
END_TEST

START_TEST(second_modem_is_independent)
{
    sim_start();
    at_ok("ATE0");
    ck_assert_str_eq(ctl("modems"), "ok m1 m2");
    struct port p1 = S.p;
    S.p = (struct port){.fd = tty_open(S.m2)};
    ck_assert_str_eq(at("AT", "OK\r\n"), "AT\r\r\nOK\r\n");   /* m2 still echoes */
    at_ok("ATE0");
    at_ok("AT+CNMI=2,1,0,0,0");
    ck_assert_str_eq(ctl("modem m2 sms +353870000001 yo"), "ok parts=1 ref=41 at=1");
    ck_assert(port_expect(&S.p, "\r\n+CMTI: \"SM\",1\r\n", 2000));
    cmgs(23, DF_SUBMIT, "\r\n+CMGS: 0\r\n\r\nOK\r\n");
    json_t *j = log_line(0);
    ck_assert_str_eq(jstr(j, "modem"), "m2");
    json_decref(j);
    ck_assert_ptr_nonnull(strstr(ctl("status"), " stored=0 "));
    ck_assert_str_eq(ctl("modem m3 status"), "error usage: modem NAME VERB ... (no such modem or verb)");
    close(p1.fd);
    sim_stop();
}
END_TEST

START_TEST(input_in_pieces)
{
    sim_start();
    at_ok("ATE0");
    /* One byte per write, as a slow UART would deliver it. */
    const char *cmd = "AT+CSQ\r";
    for (const char *q = cmd; *q; q++) {
        ck_assert_int_eq(write(S.p.fd, q, 1), 1);
        poll(NULL, 0, 5);
    }
    ck_assert(port_expect(&S.p, "\r\n+CSQ: 20,99\r\n\r\nOK\r\n", 2000));
    /* The PDU in three writes, then a command pipelined right behind Ctrl-Z. */
    at("AT+CMGS=23", "> ");
    port_send(&S.p, "0011000B9164072815");
    poll(NULL, 0, 20);
    port_send(&S.p, "53F80000AA0AE8329BFD");
    poll(NULL, 0, 20);
    port_send(&S.p, "4697D9EC37\x1a" "AT+CPIN?\r");
    ck_assert(port_expect(&S.p, "\r\n+CMGS: 0\r\n\r\nOK\r\n", 2000));
    ck_assert(port_expect(&S.p, "\r\n+CPIN: READY\r\n\r\nOK\r\n", 2000));
    /* Line noise that does not start with AT is ignored, as a modem does. */
    port_send(&S.p, "garbage\r");
    ck_assert(port_quiet(&S.p, 200));
    at_ok("AT");
    sim_stop();
}
END_TEST

START_TEST(survives_garbage)
{
    sim_start();
    /* Bad control commands each get one "error" line and change nothing. */
    static const char *bad[] = {
        "", "nope", "sms", "sms +1", "sms --parts 0 +1 x", "sms --parts 9 +1 ab",
        "sms --8bit +1 \"\xe2\x82\xac\"", "sms --order 5 +1 hi", "pdu", "pdu ZZ", "pdu 0",
        "pdu 00", "pdu 07", "report", "report 300 0", "report 1 x", "fail", "fail x",
        "latency -1", "register 9", "signal", "pin", "urc", "urc-timing later", "modem",
        "modem m9 status", "sms --time 0 +1 hi", "\"unterminated",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        ck_assert_msg(strncmp(ctl("%s", bad[k]), "error ", 6) == 0, "'%s' -> '%s'", bad[k],
                      S.reply);
    /* Fixed pseudo-random bytes on the pty: no crash, and it still answers after. */
    unsigned x = 12345;
    char junk[4096];
    for (size_t k = 0; k < sizeof junk; k++) {
        x = x * 1103515245u + 12345u;
        junk[k] = (char)(x >> 16);
    }
    for (int round = 0; round < 4; round++) {
        ck_assert_int_eq(write(S.p.fd, junk, sizeof junk), (ssize_t)sizeof junk);
        poll(NULL, 0, 20);
    }
    port_send(&S.p, "\x1b\rATE0\r");
    ck_assert(port_expect(&S.p, "OK\r\n", 3000));
    S.p.len = 0;
    poll(NULL, 0, 100);
    while (read(S.p.fd, junk, sizeof junk) > 0)
        ;
    ck_assert_str_eq(at("AT+CPIN?", "OK\r\n"), "\r\n+CPIN: READY\r\n\r\nOK\r\n");
    ck_assert_ptr_nonnull(strstr(ctl("status"), " plugged=1 hung=0 "));
    sim_stop();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("modem_sim");
    TCase *codec = tcase_create("codec");
    tcase_add_test(codec, codec_hellohello_packing);
    tcase_add_test(codec, codec_submit_vectors);
    tcase_add_test(codec, codec_deliver_and_report_vectors);
    tcase_add_test(codec, codec_split);
    suite_add_tcase(s, codec);
    TCase *tc = tcase_create("sim");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, echo_then_ate0);
    tcase_add_test(tc, bringup_commands);
    tcase_add_test(tc, cmee_modes);
    tcase_add_test(tc, pin_flow_to_puk_and_back);
    tcase_add_test(tc, pin_unlock_registers);
    tcase_add_test(tc, creg_urc_on_loss_and_regain);
    tcase_add_test(tc, cmgs_prompt_and_log);
    tcase_add_test(tc, cmgs_concat_and_ucs2_logged);
    tcase_add_test(tc, cmgs_mr_wraps);
    tcase_add_test(tc, esc_cancels);
    tcase_add_test(tc, wrong_length_is_304);
    tcase_add_test(tc, injected_cms_errors);
    tcase_add_test(tc, latency_delays_the_answer);
    tcase_add_test(tc, urc_between_echo_and_ok);
    tcase_add_test(tc, inbound_cmti_cmgr_cmgd);
    tcase_add_test(tc, inbound_multipart_any_order);
    tcase_add_test(tc, inbound_direct_cmt_and_cnma);
    tcase_add_test(tc, cmgl_lists_prestored);
    tcase_add_test(tc, status_reports_direct_and_stored);
    tcase_add_test(tc, hang_and_recover);
    tcase_add_test(tc, unplug_and_replug);
    tcase_add_test(tc, second_modem_is_independent);
    tcase_add_test(tc, input_in_pieces);
    tcase_add_test(tc, survives_garbage);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
