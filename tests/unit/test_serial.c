/*
 * test_serial: modem/serial on pseudo-terminals (the test holds the master
 * side), its I/O contract (>0 data, 0 later, -1 gone) with faults injected
 * through the syscall table, exclusivity, USB spec parsing, the USB mode
 * table and the sysfs lookups on a fake sysfs tree.
 */
#include "tests/testutil.h"
#include "modem/serial.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

struct pty {
    int master;
    char slave[128];
};

static struct pty pty_new(void)
{
    struct pty p;
    p.master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ck_assert_int_ge(p.master, 0);
    ck_assert_int_eq(grantpt(p.master), 0);
    ck_assert_int_eq(unlockpt(p.master), 0);
    ck_assert_ptr_nonnull(ptsname(p.master));
    snprintf(p.slave, sizeof p.slave, "%s", ptsname(p.master));
    return p;
}

static struct serial *open_ok(const char *path)
{
    char err[256] = "";
    struct serial *s = serial_open(path, 115200, err, sizeof err);
    ck_assert_msg(s != NULL, "serial_open %s: %s", path, err);
    return s;
}

/* Reads from the serial port until `n` bytes arrived or 2 s passed. */
static size_t read_wait(struct serial *s, char *buf, size_t n)
{
    size_t got = 0;
    for (int tries = 0; got < n && tries < 100; tries++) {
        struct pollfd pfd = { serial_fd(s), POLLIN, 0 };
        poll(&pfd, 1, 20);
        ssize_t r = serial_read(s, buf + got, n - got);
        ck_assert_int_ge(r, 0);
        got += (size_t)r;
    }
    return got;
}

START_TEST(open_by_path_round_trip)
{
    struct pty p = pty_new();
    struct serial *s = open_ok(p.slave);
    ck_assert_str_eq(serial_path(s), p.slave);
    ck_assert_int_ge(serial_fd(s), 0);
    ck_assert_int_ne(fcntl(serial_fd(s), F_GETFD) & FD_CLOEXEC, 0);
    ck_assert_int_ne(fcntl(serial_fd(s), F_GETFL) & O_NONBLOCK, 0);

    ck_assert_int_eq(serial_write(s, "AT\r", 3), 3);
    char buf[64] = "";
    ssize_t r = read(p.master, buf, sizeof buf);
    ck_assert_int_eq(r, 3);
    ck_assert_int_eq(memcmp(buf, "AT\r", 3), 0); /* raw: no echo, no CR mapping */

    ck_assert_int_eq(write(p.master, "\r\nOK\r\n", 6), 6);
    memset(buf, 0, sizeof buf);
    ck_assert_uint_eq(read_wait(s, buf, 6), 6);
    ck_assert_str_eq(buf, "\r\nOK\r\n");
    serial_close(s);
    close(p.master);
}
END_TEST

START_TEST(open_by_symlink_resolves)
{
    struct pty p = pty_new();
    const char *dir = testutil_tmpdir();
    char link[600];
    snprintf(link, sizeof link, "%s/modem", dir);
    ck_assert_int_eq(symlink(p.slave, link), 0);
    struct serial *s = open_ok(link);
    ck_assert_str_eq(serial_path(s), p.slave);
    ck_assert_int_eq(write(p.master, "x", 1), 1);
    char c = 0;
    ck_assert_uint_eq(read_wait(s, &c, 1), 1);
    ck_assert_int_eq(c, 'x');
    serial_close(s);
    close(p.master);
    unlink(link);
    rmdir(dir);
}
END_TEST

START_TEST(nothing_to_read_is_zero)
{
    struct pty p = pty_new();
    struct serial *s = open_ok(p.slave);
    char buf[16];
    ck_assert_int_eq(serial_read(s, buf, sizeof buf), 0);
    ck_assert_int_eq(serial_read(s, buf, 0), 0);
    ck_assert_int_eq(serial_write(s, buf, 0), 0);
    serial_close(s);
    close(p.master);
}
END_TEST

START_TEST(peer_gone_is_minus_one)
{
    struct pty p = pty_new();
    struct serial *s = open_ok(p.slave);
    close(p.master);
    char buf[16];
    errno = 0;
    ck_assert_int_eq(serial_read(s, buf, sizeof buf), -1);
    ck_assert_msg(errno == EIO || errno == ENXIO || errno == ENODEV, "errno %d", errno);
    serial_close(s);
}
END_TEST

/* ---- injected faults --------------------------------------------------------- */

static int fake_errno;
static ssize_t fake_result;

static ssize_t fake_read(int fd, void *buf, size_t n)
{
    (void)fd;
    (void)buf;
    (void)n;
    errno = fake_errno;
    return fake_result;
}

static ssize_t short_write(int fd, const void *buf, size_t n)
{
    return write(fd, buf, n < 2 ? n : 2);
}

static ssize_t fake_write(int fd, const void *buf, size_t n)
{
    return fake_read(fd, (void *)(uintptr_t)buf, n);
}

static ssize_t expect_read(struct serial *s, ssize_t result, int err)
{
    char buf[8];
    fake_result = result;
    fake_errno = err;
    errno = 0;
    return serial_read(s, buf, sizeof buf);
}

START_TEST(injected_read_faults)
{
    struct pty p = pty_new();
    struct serial *s = open_ok(p.slave);
    serial_set_syscalls(&(struct serial_syscalls){ .read = fake_read });
    ck_assert_int_eq(expect_read(s, -1, EAGAIN), 0);
    ck_assert_int_eq(expect_read(s, -1, EINTR), 0);
    ck_assert_int_eq(expect_read(s, 3, 0), 3);
    ck_assert_int_eq(expect_read(s, -1, EIO), -1);
    ck_assert_int_eq(errno, EIO);
    ck_assert_int_eq(expect_read(s, -1, ENXIO), -1);
    ck_assert_int_eq(errno, ENXIO);
    ck_assert_int_eq(expect_read(s, -1, ENODEV), -1);
    ck_assert_int_eq(expect_read(s, -1, EBADF), -1);
    ck_assert_int_eq(expect_read(s, 0, 0), -1); /* EOF on a tty: gone */
    ck_assert_int_eq(errno, EIO);
    serial_set_syscalls(NULL);
    char buf[8];
    ck_assert_int_eq(serial_read(s, buf, sizeof buf), 0); /* the real read again */
    serial_close(s);
    close(p.master);
}
END_TEST

START_TEST(injected_write_faults)
{
    struct pty p = pty_new();
    struct serial *s = open_ok(p.slave);
    serial_set_syscalls(&(struct serial_syscalls){ .write = short_write });
    ck_assert_int_eq(serial_write(s, "AT+CSQ\r", 7), 2);
    char buf[16] = "";
    ck_assert_int_eq(read(p.master, buf, sizeof buf), 2);
    ck_assert_str_eq(buf, "AT");

    serial_set_syscalls(&(struct serial_syscalls){ .write = fake_write });
    fake_result = -1;
    fake_errno = EAGAIN;
    ck_assert_int_eq(serial_write(s, "AT\r", 3), 0);
    fake_errno = EIO;
    ck_assert_int_eq(serial_write(s, "AT\r", 3), -1);
    ck_assert_int_eq(errno, EIO);
    fake_result = 0;
    fake_errno = 0;
    ck_assert_int_eq(serial_write(s, "AT\r", 3), 0); /* wrote nothing: try later */
    serial_set_syscalls(NULL);
    ck_assert_int_eq(serial_write(s, "AT\r", 3), 3);
    serial_close(s);
    close(p.master);
}
END_TEST

/* ---- exclusivity and open errors -------------------------------------------- */

START_TEST(second_open_fails_clearly)
{
    struct pty p = pty_new();
    struct serial *s = open_ok(p.slave);
    char err[256] = "";
    ck_assert_ptr_null(serial_open(p.slave, 115200, err, sizeof err));
    char want[300];
    snprintf(want, sizeof want, "port %s is in use by another process", p.slave);
    ck_assert_str_eq(err, want);

    /* Through a link, too: it is the same device. */
    const char *dir = testutil_tmpdir();
    char link[600];
    snprintf(link, sizeof link, "%s/m1", dir);
    ck_assert_int_eq(symlink(p.slave, link), 0);
    ck_assert_ptr_null(serial_open(link, 115200, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "in use by another process"));
    ck_assert_ptr_nonnull(strstr(err, link));

    serial_close(s);
    s = open_ok(link); /* free again once closed */
    serial_close(s);
    close(p.master);
    unlink(link);
    rmdir(dir);
}
END_TEST

START_TEST(open_errors_name_the_port)
{
    char err[256] = "";
    ck_assert_ptr_null(serial_open("/nonexistent/ttyUSB9", 115200, err, sizeof err));
    ck_assert_str_eq(err, "port /nonexistent/ttyUSB9: No such file or directory");
    ck_assert_ptr_null(serial_open("/dev/null", 115200, err, sizeof err));
    ck_assert_str_eq(err, "port /dev/null is not a serial port (not a tty)");
    struct pty p = pty_new();
    ck_assert_ptr_null(serial_open(p.slave, 12345, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "baud 12345 is not a standard rate"));
    ck_assert_ptr_null(serial_open("usb:12d1", 115200, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "missing product id"));
    ck_assert_ptr_null(serial_open("usb:fffe:fffd", 115200, err, sizeof err));
    ck_assert_str_eq(err, "port usb:fffe:fffd: no serial port of such a USB device is attached");
    ck_assert_ptr_null(serial_open("usb:12d1:1f01", 115200, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "port usb:12d1:1f01: no serial port attached; 12d1:1f01 "
                                      "is a Huawei E3372/E303/E3131 in mass-storage mode"));
    ck_assert_ptr_nonnull(strstr(err, "usb_modeswitch -v 12d1 -p 1f01 -J"));
    serial_close(NULL);
    close(p.master);
}
END_TEST

/* ---- USB spec ----------------------------------------------------------------- */

static void parse_fails(const char *spec, const char *want)
{
    struct serial_usb_spec u;
    char err[256] = "";
    ck_assert_msg(!serial_usb_parse(spec, &u, err, sizeof err), "%s parsed", spec);
    ck_assert_msg(strstr(err, want) != NULL, "%s: got '%s', want '%s'", spec, err, want);
    ck_assert_msg(strstr(err, spec) != NULL, "%s: error does not name it: %s", spec, err);
}

START_TEST(usb_spec_errors)
{
    parse_fails("usb:12d1", "missing product id (expected usb:VID:PID[:SERIAL[:INTERFACE]])");
    parse_fails("usb:12d1:", "missing product id");
    parse_fails("usb:", "missing vendor id");
    parse_fails("usb::1506", "missing vendor id");
    parse_fails("usb:zz:1506", "vendor id 'zz' is not 1 to 4 hex digits");
    parse_fails("usb:12d1:15g6", "product id '15g6' is not 1 to 4 hex digits");
    parse_fails("usb:12d10:1506", "vendor id '12d10' is not 1 to 4 hex digits");
    parse_fails("usb:12d1:1506:SN:x", "interface 'x' is not a number 0 to 255");
    parse_fails("usb:12d1:1506:SN:256", "interface '256' is not a number 0 to 255");
    parse_fails("usb:12d1:1506:SN:2:9", "too many fields");
    parse_fails("/dev/ttyUSB0", "not a USB spec");
}
END_TEST

START_TEST(usb_spec_forms)
{
    struct serial_usb_spec u;
    char err[256];
    ck_assert(serial_is_usb_spec("usb:1:2"));
    ck_assert(!serial_is_usb_spec("/dev/usb:1"));
    ck_assert(serial_usb_parse("usb:12d1:1506", &u, err, sizeof err));
    ck_assert_uint_eq(u.vid, 0x12d1);
    ck_assert_uint_eq(u.pid, 0x1506);
    ck_assert_str_eq(u.serial, "");
    ck_assert_int_eq(u.interface, SERIAL_ANY_INTERFACE);
    ck_assert(serial_usb_parse("usb:19D2:31:MF0123:2", &u, err, sizeof err));
    ck_assert_uint_eq(u.vid, 0x19d2);
    ck_assert_uint_eq(u.pid, 0x0031);
    ck_assert_str_eq(u.serial, "MF0123");
    ck_assert_int_eq(u.interface, 2);
    ck_assert(serial_usb_parse("usb:12d1:1506::0", &u, err, sizeof err));
    ck_assert_str_eq(u.serial, "");
    ck_assert_int_eq(u.interface, 0);
}
END_TEST

/* ---- USB mode table ----------------------------------------------------------- */

static void known_as(unsigned vid, unsigned pid, enum serial_usb_mode mode, const char *hint)
{
    const struct serial_usb_known *k = serial_usb_lookup(vid, pid);
    ck_assert_msg(k != NULL, "%04x:%04x not in the table", vid, pid);
    ck_assert_int_eq(k->mode, mode);
    ck_assert_msg(strstr(k->hint, hint) != NULL, "%04x:%04x hint: %s", vid, pid, k->hint);
}

START_TEST(usb_mode_table)
{
    known_as(0x12d1, 0x1f01, SERIAL_USB_MASS_STORAGE, "usb_modeswitch -v 12d1 -p 1f01 -J");
    known_as(0x12d1, 0x1446, SERIAL_USB_MASS_STORAGE, "usb_modeswitch -v 12d1 -p 1446 -J");
    known_as(0x12d1, 0x1505, SERIAL_USB_MASS_STORAGE, "-p 1505 -J");
    known_as(0x12d1, 0x14fe, SERIAL_USB_MASS_STORAGE, "-p 14fe -J");
    known_as(0x12d1, 0x155b, SERIAL_USB_MASS_STORAGE, "-p 155b -J");
    known_as(0x12d1, 0x157d, SERIAL_USB_MASS_STORAGE, "-p 157d -J");
    known_as(0x12d1, 0x15e7, SERIAL_USB_MASS_STORAGE, "-p 15e7 -J");
    known_as(0x12d1, 0x1c0b, SERIAL_USB_MASS_STORAGE, "-p 1c0b -J");
    known_as(0x12d1, 0x14db, SERIAL_USB_HILINK, "HiLink");
    known_as(0x12d1, 0x14dc, SERIAL_USB_HILINK, "-p 1f01 -M 5553424312345678");
    known_as(0x19d2, 0x2000, SERIAL_USB_MASS_STORAGE, "usb_modeswitch -v 19d2 -p 2000 -K");
    known_as(0x19d2, 0x1225, SERIAL_USB_MASS_STORAGE, "-p 1225 -K");
    known_as(0x19d2, 0x0150, SERIAL_USB_MASS_STORAGE, "-p 0150 -K");
    known_as(0x19d2, 0x1405, SERIAL_USB_HILINK, "no AT port");
    known_as(0x19d2, 0x1403, SERIAL_USB_HILINK, "no AT port");
    known_as(0x1bbb, 0xf000, SERIAL_USB_MASS_STORAGE, "usb_modeswitch -v 1bbb -p f000 -M");
    known_as(0x1bbb, 0xf017, SERIAL_USB_MASS_STORAGE, "-p f017 -M");
    known_as(0x12d1, 0x1506, SERIAL_USB_MODEM, "");
    ck_assert_ptr_null(serial_usb_lookup(0x1234, 0x5678));
    ck_assert_ptr_null(serial_usb_lookup(0x12d1, 0xffff));
    ck_assert_str_eq(serial_usb_mode_name(SERIAL_USB_MODEM), "modem");
    ck_assert_str_eq(serial_usb_mode_name(SERIAL_USB_MASS_STORAGE), "mass-storage");
    ck_assert_str_eq(serial_usb_mode_name(SERIAL_USB_HILINK), "hilink");
}
END_TEST

/* ---- fake sysfs ---------------------------------------------------------------- */

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_tree(const char *root)
{
    nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void mkdirs(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    }
    mkdir(buf, 0755);
}

static void put(const char *dir, const char *name, const char *text)
{
    mkdirs(dir);
    testutil_write_file(dir, name, text);
}

static void usb_device(const char *root, const char *name, const char *vid, const char *pid,
                       const char *devnum)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/bus/usb/devices/%s", root, name);
    put(dir, "idVendor", vid);
    put(dir, "idProduct", pid);
    put(dir, "busnum", "1\n");
    put(dir, "devnum", devnum);
    put(dir, "manufacturer", "HUAWEI_MOBILE\n");
    put(dir, "product", "HUAWEI_MOBILE\n");
}

START_TEST(scan_modes_in_fake_sysfs)
{
    char *root = strdup(testutil_tmpdir());
    usb_device(root, "1-1", "12d1\n", "1f01\n", "4\n");  /* E3372 as a CD-ROM */
    usb_device(root, "1-2", "12d1\n", "1506\n", "5\n");  /* already a modem: has ttys */
    usb_device(root, "1-3", "046d\n", "c52b\n", "6\n");  /* a mouse */
    usb_device(root, "1-1:1.0", "12d1\n", "1f01\n", "4\n"); /* an interface, not a device */
    struct serial_usb_device *d;
    size_t n;
    ck_assert(serial_usb_scan_modes(root, &d, &n));
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(d[0].vid, 0x12d1);
    ck_assert_int_eq(d[0].pid, 0x1f01);
    ck_assert_int_eq(d[0].bus, 1);
    ck_assert_int_eq(d[0].address, 4);
    ck_assert_str_eq(d[0].manufacturer, "HUAWEI_MOBILE");
    ck_assert_str_eq(d[0].serial, "");
    ck_assert_int_eq(d[0].known->mode, SERIAL_USB_MASS_STORAGE);
    free(d);

    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/none", root);
    ck_assert(serial_usb_scan_modes(missing, &d, &n));
    ck_assert_uint_eq(n, 0);
    remove_tree(root);
    free(root);
}
END_TEST

START_TEST(interface_from_fake_sysfs)
{
    char *root = strdup(testutil_tmpdir());
    char path[PATH_MAX], link[PATH_MAX];
    /* ttyUSB: class/tty/ttyUSB2/device -> the usb-serial port, under the interface. */
    snprintf(path, sizeof path, "%s/devices/usb1/1-1/1-1:1.2", root);
    put(path, "bInterfaceNumber", "02\n");
    snprintf(path, sizeof path, "%s/devices/usb1/1-1/1-1:1.2/ttyUSB2", root);
    mkdirs(path);
    snprintf(link, sizeof link, "%s/class/tty/ttyUSB2", root);
    mkdirs(link);
    strcat(link, "/device");
    ck_assert_int_eq(symlink(path, link), 0);
    /* ttyACM: device is the interface itself. */
    snprintf(path, sizeof path, "%s/devices/usb1/1-2/1-2:1.0", root);
    put(path, "bInterfaceNumber", "0a\n");
    snprintf(link, sizeof link, "%s/class/tty/ttyACM0", root);
    mkdirs(link);
    strcat(link, "/device");
    ck_assert_int_eq(symlink(path, link), 0);

    ck_assert_int_eq(serial_usb_interface(root, "/dev/ttyUSB2"), 2);
    ck_assert_int_eq(serial_usb_interface(root, "/dev/ttyACM0"), 10);
    ck_assert_int_eq(serial_usb_interface(root, "/dev/ttyUSB7"), -1);
    remove_tree(root);
    free(root);
}
END_TEST

START_TEST(list_ports_does_not_fail)
{
    struct serial_port_info *ports;
    size_t n;
    char err[256];
    ck_assert_msg(serial_usb_list(&ports, &n, err, sizeof err), "%s", err);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(strncmp(ports[i].path, "/dev/", 5) == 0, "%s", ports[i].path);
    free(ports);
}
END_TEST

START_TEST(usb_reset_refuses_a_tty_that_is_not_usb)
{
    char err[256];
    ck_assert(!serial_usb_reset("/dev/null", err, sizeof err));
    ck_assert_msg(strstr(err, "not a USB serial port") != NULL, "%s", err);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("serial");
    TCase *tc = tcase_create("pty");
    tcase_add_test(tc, open_by_path_round_trip);
    tcase_add_test(tc, open_by_symlink_resolves);
    tcase_add_test(tc, nothing_to_read_is_zero);
    tcase_add_test(tc, peer_gone_is_minus_one);
    tcase_add_test(tc, injected_read_faults);
    tcase_add_test(tc, injected_write_faults);
    tcase_add_test(tc, second_open_fails_clearly);
    tcase_add_test(tc, open_errors_name_the_port);
    suite_add_tcase(s, tc);
    tc = tcase_create("usb");
    tcase_add_test(tc, usb_spec_errors);
    tcase_add_test(tc, usb_spec_forms);
    tcase_add_test(tc, usb_mode_table);
    tcase_add_test(tc, scan_modes_in_fake_sysfs);
    tcase_add_test(tc, interface_from_fake_sysfs);
    tcase_add_test(tc, list_ports_does_not_fail);
    tcase_add_test(tc, usb_reset_refuses_a_tty_that_is_not_usb);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return testutil_run(suite());
}
