/*
 * serial: one open serial port, non-blocking, for the AT engine and the CLI.
 *
 *   struct serial *s = serial_open("/dev/ttyUSB2", 115200, err, sizeof err);
 *   ... event_new(base, serial_fd(s), EV_READ | EV_PERSIST, cb, s) ...
 *   ssize_t r = serial_read(s, buf, sizeof buf);   >0 data, 0 later, -1 gone
 *   serial_close(s);
 *
 * A port is a device path (any tty, a pseudo-terminal included; symlinks such
 * as /dev/serial/by-id/... are resolved first) or a USB spec
 * `usb:VID:PID[:SERIAL[:INTERFACE]]` that survives USB renumbering. The port is
 * opened with plain open() + termios (libserialport cannot open a pty), raw 8N1
 * at the baud, no flow control, close-on-exec, and taken exclusively
 * (TIOCEXCL and flock) so a second homing fails with a clear message.
 *
 * Only modem/serial_usb.c includes libserialport; it also lists ports for
 * `homing modems` and knows the USB ids of modems stuck in mass-storage or
 * HiLink (network card) mode.
 */
#ifndef HOMING_SERIAL_H
#define HOMING_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct serial;

/*
 * Opens `port` at `baud` (one of the standard rates 1200 .. 4000000).
 * Returns NULL with a one-line reason in `err` that names the port, e.g.
 * "port /dev/ttyUSB2 is in use by another process".
 */
struct serial *serial_open(const char *port, int baud, char *err, size_t errsz);
/* Closes the port and frees it; accepts NULL. */
void serial_close(struct serial *s);

/* The fd to watch for reading (and writing, when serial_write returned 0). */
int serial_fd(const struct serial *s);
/* The device actually opened: the realpath of a link, the tty of a USB spec. */
const char *serial_path(const struct serial *s);

/*
 * Non-blocking I/O on the fd (never through libserialport, whose read returns
 * 0 both for "no data" and for "unplugged"). Both return:
 *   > 0  bytes transferred (a write may be short: send the rest later);
 *     0  nothing now: no data yet, or the output buffer is full (EAGAIN,
 *        EINTR). Wait for the fd and call again. Also 0 when n is 0;
 *    -1  the device is gone or failed, errno says why: read() returning 0 on
 *        a tty (hang-up, unplug) is reported as errno EIO; EIO, ENXIO,
 *        ENODEV and EBADF from the system mean unplugged or closed. Close the
 *        port and reopen it later; never call again on this handle.
 */
ssize_t serial_read(struct serial *s, void *buf, size_t n);
ssize_t serial_write(struct serial *s, const void *buf, size_t n);

/*
 * The system calls serial_read/serial_write go through (SQLite os_unix.c
 * aSyscall[] idea), so tests can inject EAGAIN, EIO and short transfers.
 * Tests only: pass NULL to restore the real read(2) and write(2).
 */
struct serial_syscalls {
    ssize_t (*read)(int fd, void *buf, size_t n);
    ssize_t (*write)(int fd, const void *buf, size_t n);
};
void serial_set_syscalls(const struct serial_syscalls *calls);

/* ---- USB ports (serial_usb.c) --------------------------------------------- */

#define SERIAL_ANY_INTERFACE (-1)

/* `usb:VID:PID[:SERIAL[:INTERFACE]]`: ids in hex, INTERFACE in decimal. */
struct serial_usb_spec {
    unsigned vid, pid;
    char serial[128];    /* "" matches any serial number */
    int interface;       /* SERIAL_ANY_INTERFACE or 0..255 */
};

/* True if `port` starts with "usb:" (case-sensitive), i.e. is a USB spec. */
bool serial_is_usb_spec(const char *port);
/* Parses a USB spec; false with a reason naming what is wrong in `err`. */
bool serial_usb_parse(const char *port, struct serial_usb_spec *out, char *err, size_t errsz);

/*
 * Finds the tty of a USB spec among the attached ports. With no INTERFACE,
 * the port of the lowest-numbered USB interface is chosen (ties: the lowest
 * device name), which is the modem/PPP port of the common Huawei and ZTE
 * sticks; the modem layer may probe the device's other ports itself.
 * False with a reason (nothing attached with those ids, ...) in `err`.
 */
bool serial_usb_resolve(const struct serial_usb_spec *spec, char *path, size_t pathsz,
                        char *err, size_t errsz);

/* One serial port as the system lists it. Unknown numbers are -1. */
struct serial_port_info {
    char path[256];          /* /dev/ttyUSB0 */
    bool usb;                /* attached over USB: the fields below are set */
    int vid, pid;
    int bus, address;        /* the USB device: ports sharing these are one modem */
    int interface;           /* bInterfaceNumber, -1 if unknown */
    char manufacturer[128];  /* "" if the device does not say */
    char product[128];
    char serial[128];
    char description[128];
};

/*
 * Lists the system's serial ports (libserialport), sorted by bus, address,
 * interface and path. *out is malloc'd (free() it); *n may be 0.
 * False with a reason in `err` if enumeration itself failed.
 */
bool serial_usb_list(struct serial_port_info **out, size_t *n, char *err, size_t errsz);

/*
 * Resets the USB device a tty belongs to (ioctl USBDEVFS_RESET on
 * /dev/bus/usb/BUS/ADDR), the last rung of the recovery ladder for a modem
 * that answers nothing at all. The tty disappears and comes back, usually
 * under the same name. False with a reason (not a USB tty, no permission).
 */
bool serial_usb_reset(const char *tty_path, char *err, size_t errsz);

/* The USB interface number of a tty from sysfs (`sysfs_root` NULL: "/sys"); -1. */
int serial_usb_interface(const char *sysfs_root, const char *tty_path);

/* What a known USB id means for homing. */
enum serial_usb_mode {
    SERIAL_USB_MODEM,         /* AT ports: usable */
    SERIAL_USB_MASS_STORAGE,  /* the install CD-ROM: needs usb_modeswitch */
    SERIAL_USB_HILINK,        /* a network card (CDC-ether/RNDIS/NCM): no AT port */
};

struct serial_usb_known {
    unsigned vid, pid;
    enum serial_usb_mode mode;
    const char *model;       /* "Huawei E3372" */
    const char *hint;        /* what to do about it, one sentence */
};

/* The table entry for vid:pid, or NULL if it is not a known non-modem mode. */
const struct serial_usb_known *serial_usb_lookup(unsigned vid, unsigned pid);
/* "modem", "mass-storage" or "hilink". */
const char *serial_usb_mode_name(enum serial_usb_mode mode);

/* A USB device found in a mode without AT ports (from sysfs). */
struct serial_usb_device {
    int vid, pid, bus, address;
    char manufacturer[128], product[128], serial[128];
    const struct serial_usb_known *known;
};

/*
 * Lists USB devices under `sysfs_root` (NULL: "/sys") whose ids are in the
 * table: modems that expose no serial port until switched. *out is malloc'd.
 */
bool serial_usb_scan_modes(const char *sysfs_root, struct serial_usb_device **out, size_t *n);

#endif
