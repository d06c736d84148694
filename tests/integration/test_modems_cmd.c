/*
 * test_modems_cmd: `homing modems` against tools/modem-sim.
 *
 * The simulator's ptys are not USB, so the command is given their paths, as
 * an operator would name a port. Each test starts its own simulator with two
 * modems, sets them apart through the control socket (signal, registration,
 * unsolicited noise held for the next command so it lands between echo and
 * result), runs build/test/homing with a deadline and checks its JSON.
 */
#include "tests/harness.h"
#include "tests/testutil.h"
#include "modem/serial.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

struct sim {
    pid_t pid;
    char dir[512];
    char ctl_path[600];
    char m1[600];
    char m2[600];
    int ctl;
};

static struct sim S;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void wait_ready(int fd)
{
    char buf[256];
    size_t len = 0;
    long end = now_ms() + 10000;
    while (now_ms() < end && len + 1 < sizeof buf) {
        struct pollfd pfd = { fd, POLLIN, 0 };
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

/* Sends one control command and checks the answer starts with "ok". */
static void ctl(const char *cmd)
{
    char line[256], reply[256];
    snprintf(line, sizeof line, "%s\n", cmd);
    ck_assert_int_eq(write(S.ctl, line, strlen(line)), (ssize_t)strlen(line));
    size_t len = 0;
    long end = now_ms() + 3000;
    while (now_ms() < end && len + 1 < sizeof reply && !memchr(reply, '\n', len)) {
        struct pollfd pfd = { S.ctl, POLLIN, 0 };
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        ssize_t r = read(S.ctl, reply + len, sizeof reply - 1 - len);
        ck_assert_int_gt(r, 0);
        len += (size_t)r;
    }
    reply[len] = '\0';
    ck_assert_msg(strncmp(reply, "ok", 2) == 0, "%s: %s", cmd, reply);
}

static void sim_start(void)
{
    snprintf(S.dir, sizeof S.dir, "%s", testutil_tmpdir());
    snprintf(S.ctl_path, sizeof S.ctl_path, "%s/ctl.sock", S.dir);
    snprintf(S.m1, sizeof S.m1, "%s/m1", S.dir);
    snprintf(S.m2, sizeof S.m2, "%s/m2", S.dir);
    char spec1[700], spec2[700];
    snprintf(spec1, sizeof spec1, "m1:%s", S.m1);
    snprintf(spec2, sizeof spec2, "m2:%s", S.m2);
    const char *argv[] = { testutil_program("modem-sim"), "--control", S.ctl_path,
                           "--modem", spec1, "--modem", spec2, NULL };
    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    S.pid = fork();
    ck_assert_int_ge(S.pid, 0);
    if (S.pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        char *av[8];
        for (int k = 0; k < 8; k++)
            av[k] = argv[k] ? strdup(argv[k]) : NULL;
        execv(av[0], av);
        _exit(127);
    }
    close(pipefd[1]);
    wait_ready(pipefd[0]);
    close(pipefd[0]);
    S.ctl = harness_ctl_connect(S.ctl_path);
}

static void sim_stop(void)
{
    if (S.pid <= 0)
        return;
    close(S.ctl);
    kill(S.pid, SIGTERM);
    ck_assert_int_eq(testutil_wait_exit(S.pid, 5000), 0);
    S.pid = 0;
    rmdir(S.dir);
}

/* Runs homing with the arguments (NULL-ended); returns its exit code. */
static int homing(char **out, char **err, long *ms, ...)
{
    const char *argv[16] = { testutil_program("homing") };
    int argc = 1;
    va_list ap;
    va_start(ap, ms);
    for (const char *a; argc < 15 && (a = va_arg(ap, const char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    long t0 = now_ms();
    int rc = testutil_exec(argv, NULL, 10000, out, err);
    *ms = now_ms() - t0;
    return rc;
}

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text ? text : "", 0, &e);
    ck_assert_msg(j != NULL, "bad JSON (%s): %s", e.text, text ? text : "(none)");
    ck_assert(json_is_array(j));
    return j;
}

static json_t *only_port(json_t *list, size_t i)
{
    json_t *dev = json_array_get(list, i);
    ck_assert_ptr_nonnull(dev);
    ck_assert_str_eq(json_string_value(json_object_get(dev, "mode")), "modem");
    json_t *ports = json_object_get(dev, "ports");
    ck_assert_uint_eq(json_array_size(ports), 1);
    return json_array_get(ports, 0);
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    ck_assert_msg(s != NULL, "%s is not a string", key);
    return s;
}

START_TEST(probe_two_modems_and_a_silent_pty)
{
    sim_start();
    ctl("modem m2 register 5");
    ctl("modem m2 signal 10");
    /* m1: noise held for the next command, sent between its echo and its result. */
    ctl("modem m1 urc-timing next");
    ctl("modem m1 noise ^RSSI:12");
    ctl("modem m1 noise RING");
    int silent = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_int_ge(silent, 0);
    ck_assert_int_eq(grantpt(silent), 0);
    ck_assert_int_eq(unlockpt(silent), 0);
    char silent_path[128];
    snprintf(silent_path, sizeof silent_path, "%s", ptsname(silent));

    char *out = NULL, *err = NULL;
    long ms;
    int rc = homing(&out, &err, &ms, "modems", "--probe", "--json", S.m1, S.m2, silent_path,
                    "/dev/null", NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_msg(ms < 5000, "took %ld ms", ms);
    json_t *list = parse(out);
    ck_assert_uint_eq(json_array_size(list), 4);

    json_t *p1 = only_port(list, 0);
    ck_assert_str_eq(str(p1, "path"), S.m1);
    ck_assert(json_is_true(json_object_get(p1, "answers_at")));
    ck_assert_str_eq(str(p1, "model"), "modem-sim");
    ck_assert_str_eq(str(p1, "manufacturer"), "homing");
    ck_assert_str_eq(str(p1, "imei"), "350000000000000");
    ck_assert_str_eq(str(p1, "imsi"), "272010000000000");
    ck_assert_int_eq(json_integer_value(json_object_get(p1, "signal_dbm")), -73);
    ck_assert_str_eq(str(p1, "registration"), "home");

    json_t *p2 = only_port(list, 1);
    ck_assert_str_eq(str(p2, "imei"), "350000000000001");
    ck_assert_int_eq(json_integer_value(json_object_get(p2, "signal_dbm")), -93);
    ck_assert_str_eq(str(p2, "registration"), "roaming");

    json_t *p3 = only_port(list, 2);
    ck_assert(json_is_false(json_object_get(p3, "answers_at")));
    ck_assert(json_is_null(json_object_get(p3, "model")));
    ck_assert(json_is_null(json_object_get(p3, "error")));

    json_t *p4 = only_port(list, 3);
    ck_assert(json_is_false(json_object_get(p4, "answers_at")));
    ck_assert_str_eq(str(p4, "error"), "port /dev/null is not a serial port (not a tty)");
    json_decref(list);
    free(out);
    free(err);
    close(silent);
    sim_stop();
}
END_TEST

START_TEST(port_in_use_is_reported_not_disturbed)
{
    sim_start();
    char e[256];
    struct serial *held = serial_open(S.m1, 115200, e, sizeof e);
    ck_assert_msg(held != NULL, "%s", e);
    char *out = NULL, *err = NULL;
    long ms;
    int rc = homing(&out, &err, &ms, "modems", "--json", S.m1, NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    json_t *list = parse(out);
    json_t *p = only_port(list, 0);
    ck_assert(json_is_false(json_object_get(p, "answers_at")));
    char want[700];
    snprintf(want, sizeof want, "port %s is in use by another process", S.m1);
    ck_assert_str_eq(str(p, "error"), want);
    json_decref(list);
    free(out);
    free(err);
    serial_close(held);
    sim_stop();
}
END_TEST

START_TEST(text_output_without_probe)
{
    sim_start();
    char *out = NULL, *err = NULL;
    long ms;
    int rc = homing(&out, &err, &ms, "modems", S.m2, NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_msg(strstr(out, "answers AT") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "IMEI") == NULL, "probed without --probe: %s", out);
    free(out);
    free(err);
    rc = homing(&out, &err, &ms, "modems", "--bogus", NULL);
    ck_assert_int_eq(rc, 2);
    free(out);
    free(err);
    sim_stop();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("modems_cmd");
    TCase *tc = tcase_create("modems");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, probe_two_modems_and_a_silent_pty);
    tcase_add_test(tc, port_in_use_is_reported_not_disturbed);
    tcase_add_test(tc, text_output_without_probe);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
