/*
 * test_probe: the one-shot AT probe of `homing modems`. Line helpers first,
 * then probe_port() against a scripted modem on a pty that echoes commands,
 * interleaves unsolicited lines (^RSSI, RING, a +CREG URC) and answers with an
 * "OK" inside an information line, which must not end the reply; and against
 * a pty nobody answers, which must time out, not hang.
 */
#include "tests/testutil.h"
#include "modem/probe.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

START_TEST(line_kinds_are_whole_lines)
{
    ck_assert_int_eq(probe_line_kind("OK"), PROBE_LINE_OK);
    ck_assert_int_eq(probe_line_kind("ERROR"), PROBE_LINE_ERROR);
    ck_assert_int_eq(probe_line_kind("+CME ERROR: 10"), PROBE_LINE_ERROR);
    ck_assert_int_eq(probe_line_kind("+CMS ERROR: 500"), PROBE_LINE_ERROR);
    ck_assert_int_eq(probe_line_kind("OKAY 3000"), PROBE_LINE_INFO);
    ck_assert_int_eq(probe_line_kind("BOOK"), PROBE_LINE_INFO);
    ck_assert_int_eq(probe_line_kind(" OK"), PROBE_LINE_INFO);
    ck_assert_int_eq(probe_line_kind("NO ERROR"), PROBE_LINE_INFO);
    ck_assert_int_eq(probe_line_kind("^RSSI:12"), PROBE_LINE_INFO);
}
END_TEST

START_TEST(csq_to_dbm)
{
    int dbm = 0;
    ck_assert(probe_csq_dbm("20,99", &dbm));
    ck_assert_int_eq(dbm, -73);
    ck_assert(probe_csq_dbm("0,0", &dbm));
    ck_assert_int_eq(dbm, -113);
    ck_assert(probe_csq_dbm("31,99", &dbm));
    ck_assert_int_eq(dbm, -51);
    ck_assert(!probe_csq_dbm("99,99", &dbm));
    ck_assert(!probe_csq_dbm("20", &dbm));
    ck_assert(!probe_csq_dbm("20,99x", &dbm));
    ck_assert(!probe_csq_dbm("", &dbm));
}
END_TEST

START_TEST(creg_answers_and_urcs)
{
    ck_assert_str_eq(probe_creg_name("0,1"), "home");
    ck_assert_str_eq(probe_creg_name("0,5"), "roaming");
    ck_assert_str_eq(probe_creg_name("1,2"), "searching");
    ck_assert_str_eq(probe_creg_name("0,3"), "denied");
    ck_assert_str_eq(probe_creg_name("0,0"), "not-registered");
    ck_assert_str_eq(probe_creg_name("0,4"), "unknown");
    ck_assert_str_eq(probe_creg_name("2,1,\"00A1\",\"1001\""), "home");
    ck_assert_str_eq(probe_creg_name("2,5,\"00A1\",\"1001\",7"), "roaming");
    ck_assert_str_eq(probe_creg_name("0,42"), "unknown");
    /* Unsolicited forms are not the answer. */
    ck_assert_ptr_null(probe_creg_name("1"));
    ck_assert_ptr_null(probe_creg_name("5,\"00A1\",\"1001\""));
    ck_assert_ptr_null(probe_creg_name(""));
    ck_assert_ptr_null(probe_creg_name("x,1"));
}
END_TEST

/* ---- a scripted modem on the master side of a pty --------------------------- */

struct script {
    const char *cmd;
    const char *reply;
};

static const struct script noisy[] = {
    { "AT", "\r\n^RSSI:12\r\n\r\nOK\r\n" },
    { "AT+CGMM", "\r\nRING\r\n\r\nOKAY 3000\r\n\r\nOK\r\n" },
    { "AT+CGMI", "\r\n+CGMI: ACME\r\n\r\nOK\r\n" },
    { "AT+CGSN", "\r\n^BOOT:1,2\r\n\r\n356789012345678\r\n\r\nOK\r\n" },
    { "AT+CIMI", "\r\n+CME ERROR: 10\r\n" },
    { "AT+CSQ", "\r\n+CSQ: 15,99\r\n\r\nOK\r\n" },
    { "AT+CREG?", "\r\n+CREG: 5\r\n\r\n+CREG: 0,1\r\nRING\r\n\r\nOK\r\n" },
};

static void answer(int fd, const char *cmd)
{
    char echo[160];
    snprintf(echo, sizeof echo, "%s\r", cmd); /* echo on */
    if (write(fd, echo, strlen(echo)) < 0)
        _exit(1);
    for (size_t i = 0; i < sizeof noisy / sizeof noisy[0]; i++)
        if (strcmp(noisy[i].cmd, cmd) == 0 && write(fd, noisy[i].reply, strlen(noisy[i].reply)) < 0)
            _exit(1);
}

static void modem_loop(int fd)
{
    char line[128];
    size_t len = 0;
    for (;;) {
        char c;
        if (read(fd, &c, 1) != 1)
            _exit(0); /* the prober closed the slave */
        if (c != '\r' && len + 1 < sizeof line) {
            line[len++] = c;
            continue;
        }
        line[len] = '\0';
        len = 0;
        answer(fd, line);
    }
}

static pid_t start_modem(char *slave, size_t size)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_int_ge(master, 0);
    ck_assert_int_eq(grantpt(master), 0);
    ck_assert_int_eq(unlockpt(master), 0);
    snprintf(slave, size, "%s", ptsname(master));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        modem_loop(master);
    }
    close(master);
    return pid;
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000L + (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

START_TEST(probe_through_echo_and_noise)
{
    char slave[128];
    pid_t pid = start_modem(slave, sizeof slave);
    struct probe_result r;
    ck_assert(probe_port(slave, true, &r));
    ck_assert(r.opened);
    ck_assert_str_eq(r.error, "");
    ck_assert_str_eq(r.model, "OKAY 3000");
    ck_assert_str_eq(r.manufacturer, "ACME");
    ck_assert_str_eq(r.imei, "356789012345678");
    ck_assert_str_eq(r.imsi, ""); /* +CME ERROR: no SIM */
    ck_assert(r.has_signal);
    ck_assert_int_eq(r.signal_dbm, -83);
    ck_assert_str_eq(r.registration, "home");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}
END_TEST

START_TEST(silent_port_times_out)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_int_ge(master, 0);
    ck_assert_int_eq(grantpt(master), 0);
    ck_assert_int_eq(unlockpt(master), 0);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct probe_result r;
    ck_assert(!probe_port(ptsname(master), true, &r));
    ck_assert(r.opened);
    ck_assert(!r.answers_at);
    ck_assert_str_eq(r.model, "");
    long ms = elapsed_ms(&t0);
    ck_assert_msg(ms >= PROBE_AT_TIMEOUT_MS - 50 && ms < PROBE_AT_TIMEOUT_MS + 1000, "%ld ms", ms);
    close(master);
}
END_TEST

START_TEST(unopenable_port_is_reported)
{
    struct probe_result r;
    ck_assert(!probe_port("/dev/null", true, &r));
    ck_assert(!r.opened);
    ck_assert_str_eq(r.error, "port /dev/null is not a serial port (not a tty)");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("probe");
    TCase *tc = tcase_create("probe");
    tcase_add_test(tc, line_kinds_are_whole_lines);
    tcase_add_test(tc, csq_to_dbm);
    tcase_add_test(tc, creg_answers_and_urcs);
    tcase_add_test(tc, probe_through_echo_and_noise);
    tcase_add_test(tc, silent_port_times_out);
    tcase_add_test(tc, unopenable_port_is_reported);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
