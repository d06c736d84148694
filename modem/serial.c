/*
 * serial: open a tty raw and exclusive, and read and write it without ever
 * blocking.
 *
 * Why plain open() and termios rather than libserialport's sp_open(): it cannot
 * open a pseudo-terminal (modem-sim, and any test), it sets neither
 * FD_CLOEXEC nor an exclusive lock, and its read cannot tell "no data" from
 * "unplugged". libserialport is still used, in serial_usb.c, to find which
 * tty belongs to which USB device.
 *
 * Exclusivity is taken twice: flock(LOCK_EX|LOCK_NB) first, because it works
 * for root too and fails before we touch the other owner's termios; then
 * TIOCEXCL, so that other programs (minicom, ModemManager) get EBUSY on open.
 *
 * I/O goes through a small table of system calls (SQLite's aSyscall[]) so
 * the unit tests can inject EAGAIN, EIO and short transfers.
 */
#include "modem/serial.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

struct serial {
    int fd;
    char path[PATH_MAX];
};

static const struct serial_syscalls real_syscalls = { read, write };
static struct serial_syscalls sys = { read, write };

void serial_set_syscalls(const struct serial_syscalls *calls)
{
    sys = calls ? *calls : real_syscalls;
    if (!sys.read)
        sys.read = read;
    if (!sys.write)
        sys.write = write;
}

static void set_err(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errsz, const char *fmt, ...)
{
    if (!err || !errsz)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

static speed_t baud_speed(int baud)
{
    static const struct { int baud; speed_t speed; } rates[] = {
        { 1200, B1200 },       { 2400, B2400 },       { 4800, B4800 },
        { 9600, B9600 },       { 19200, B19200 },     { 38400, B38400 },
        { 57600, B57600 },     { 115200, B115200 },   { 230400, B230400 },
        { 460800, B460800 },   { 921600, B921600 },   { 1000000, B1000000 },
        { 2000000, B2000000 }, { 3000000, B3000000 }, { 4000000, B4000000 },
    };
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
        if (rates[i].baud == baud)
            return rates[i].speed;
    return B0;
}

/* Unix98 pty slaves live on majors 136..143. */
static bool is_pty(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode))
        return false;
    unsigned maj = major(st.st_rdev);
    return maj >= 136 && maj <= 143;
}

static bool set_raw(int fd, const char *path, int baud, char *err, size_t errsz)
{
    struct termios t;
    if (tcgetattr(fd, &t) != 0) {
        set_err(err, errsz, "port %s is not a serial port: %s", path, strerror(errno));
        return false;
    }
    cfmakeraw(&t);
    t.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB | CRTSCTS);
    t.c_cflag |= CS8 | CLOCAL | CREAD;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    speed_t speed = baud_speed(baud);
    cfsetispeed(&t, speed);
    cfsetospeed(&t, speed);
    /* A pty ignores speed and some flags; whatever it refuses does not matter. */
    if (tcsetattr(fd, TCSANOW, &t) != 0 && !is_pty(fd)) {
        set_err(err, errsz, "port %s: cannot set %d 8N1 raw: %s", path, baud, strerror(errno));
        return false;
    }
    tcflush(fd, TCIFLUSH);
    return true;
}

static bool take_exclusive(int fd, const char *path, char *err, size_t errsz)
{
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            set_err(err, errsz, "port %s is in use by another process", path);
        else
            set_err(err, errsz, "port %s: cannot lock: %s", path, strerror(errno));
        return false;
    }
    /* Ptys and odd drivers may refuse: the flock above still guards homing. */
    (void)ioctl(fd, TIOCEXCL);
    return true;
}

/* Opens a device path (a link is resolved first); -1 with the reason. */
static int open_device(const char *path, char *resolved, char *err, size_t errsz)
{
    if (!realpath(path, resolved)) {
        set_err(err, errsz, "port %s: %s", path, strerror(errno));
        return -1;
    }
    int fd = open(resolved, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == EBUSY)
            set_err(err, errsz, "port %s is in use by another process", path);
        else
            set_err(err, errsz, "port %s: %s", path, strerror(errno));
        return -1;
    }
    if (!isatty(fd)) {
        set_err(err, errsz, "port %s is not a serial port (not a tty)", path);
        close(fd);
        return -1;
    }
    return fd;
}

struct serial *serial_open(const char *port, int baud, char *err, size_t errsz)
{
    char device[PATH_MAX];
    if (baud_speed(baud) == B0) {
        set_err(err, errsz, "port %s: baud %d is not a standard rate", port, baud);
        return NULL;
    }
    if (serial_is_usb_spec(port)) {
        struct serial_usb_spec spec;
        if (!serial_usb_parse(port, &spec, err, errsz) ||
            !serial_usb_resolve(&spec, device, sizeof device, err, errsz))
            return NULL;
        port = device;
    }
    struct serial *s = calloc(1, sizeof *s);
    if (!s) {
        set_err(err, errsz, "port %s: out of memory", port);
        return NULL;
    }
    s->fd = open_device(port, s->path, err, errsz);
    if (s->fd < 0 || !take_exclusive(s->fd, port, err, errsz) ||
        !set_raw(s->fd, port, baud, err, errsz)) {
        serial_close(s);
        return NULL;
    }
    return s;
}

void serial_close(struct serial *s)
{
    if (!s)
        return;
    if (s->fd >= 0) {
        (void)ioctl(s->fd, TIOCNXCL);
        close(s->fd);
    }
    free(s);
}

int serial_fd(const struct serial *s)
{
    return s->fd;
}

const char *serial_path(const struct serial *s)
{
    return s->path;
}

/* Maps a read/write result onto the >0 / 0 / -1 contract of the header. */
static ssize_t io_result(ssize_t r, bool is_read)
{
    if (r > 0)
        return r;
    if (r == 0) {
        if (!is_read)
            return 0;
        errno = EIO; /* EOF on a tty: hung up or unplugged */
        return -1;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return 0;
    return -1;
}

ssize_t serial_read(struct serial *s, void *buf, size_t n)
{
    if (n == 0)
        return 0;
    return io_result(sys.read(s->fd, buf, n), true);
}

ssize_t serial_write(struct serial *s, const void *buf, size_t n)
{
    if (n == 0)
        return 0;
    return io_result(sys.write(s->fd, buf, n), false);
}

/* ---- USB spec ---------------------------------------------------------------- */

bool serial_is_usb_spec(const char *port)
{
    return strncmp(port, "usb:", 4) == 0;
}

/* 1 to 4 hex digits, the whole of [s, s+len). */
static bool parse_hex_id(const char *s, size_t len, unsigned *out)
{
    if (len < 1 || len > 4)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return false;
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return true;
}

static bool parse_interface(const char *s, int *out)
{
    if (!*s || strlen(s) > 3)
        return false;
    int v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (*s - '0');
    }
    if (v > 255)
        return false;
    *out = v;
    return true;
}

/* Splits at most 4 ':'-separated fields after "usb:"; returns the count. */
static int split_fields(const char *rest, const char *f[4], size_t len[4])
{
    int n = 0;
    for (;;) {
        const char *colon = strchr(rest, ':');
        if (n == 4)
            return 5; /* too many */
        f[n] = rest;
        len[n] = colon ? (size_t)(colon - rest) : strlen(rest);
        n++;
        if (!colon)
            return n;
        rest = colon + 1;
    }
}

#define USB_FORM "usb:VID:PID[:SERIAL[:INTERFACE]]"

static bool parse_serial_and_interface(const char *port, const char *f[4], size_t len[4],
                                       int n, struct serial_usb_spec *out, char *err,
                                       size_t errsz)
{
    if (n >= 3) {
        if (len[2] >= sizeof out->serial) {
            set_err(err, errsz, "port %s: serial number is longer than %zu characters", port,
                    sizeof out->serial - 1);
            return false;
        }
        memcpy(out->serial, f[2], len[2]);
        out->serial[len[2]] = '\0';
    }
    if (n == 4 && !parse_interface(f[3], &out->interface)) {
        set_err(err, errsz, "port %s: interface '%s' is not a number 0 to 255", port, f[3]);
        return false;
    }
    return true;
}

bool serial_usb_parse(const char *port, struct serial_usb_spec *out, char *err, size_t errsz)
{
    *out = (struct serial_usb_spec){ .interface = SERIAL_ANY_INTERFACE };
    if (!serial_is_usb_spec(port)) {
        set_err(err, errsz, "port %s: not a USB spec (" USB_FORM ")", port);
        return false;
    }
    const char *f[4];
    size_t len[4];
    int n = split_fields(port + 4, f, len);
    if (n > 4) {
        set_err(err, errsz, "port %s: too many fields (expected " USB_FORM ")", port);
        return false;
    }
    if (n < 2 || len[0] == 0 || len[1] == 0) {
        set_err(err, errsz, "port %s: missing %s id (expected " USB_FORM ")", port,
                len[0] == 0 ? "vendor" : "product");
        return false;
    }
    if (!parse_hex_id(f[0], len[0], &out->vid) || !parse_hex_id(f[1], len[1], &out->pid)) {
        bool vendor = !parse_hex_id(f[0], len[0], &out->vid);
        set_err(err, errsz, "port %s: %s id '%.*s' is not 1 to 4 hex digits", port,
                vendor ? "vendor" : "product", (int)(vendor ? len[0] : len[1]),
                vendor ? f[0] : f[1]);
        return false;
    }
    return parse_serial_and_interface(port, f, len, n, out, err, errsz);
}
