/*
 * serial_usb: which tty belongs to which USB modem, and what to say about a
 * modem that shows no tty at all.
 *
 * The only file that includes libserialport. It is used for what it does well:
 * listing ports with their USB vendor/product ids, strings, bus and address.
 * The USB interface number of a port, which tells a modem's AT port from its
 * diagnostics port, is not in libserialport 0.1.1: it is read from sysfs
 * (bInterfaceNumber of the interface the tty hangs off).
 *
 * A USB modem fresh out of the box often enumerates as a CD-ROM with the
 * Windows driver (mass storage), or runs a "HiLink" firmware that is a
 * network card (CDC-ether, RNDIS, NCM) with no AT port. Neither has a tty, so
 * such devices are found in sysfs by their ids in the table below, and the
 * hint says how to switch them (usb_modeswitch, from usb-modeswitch-data).
 * Sources: usb-modeswitch-data device files, the draisberghof.de forum and
 * OpenWrt's 3G dongle guide.
 */
#include "modem/serial.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/usbdevice_fs.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libserialport.h>

#define HUAWEI_J(pid) \
    "switch it to modem mode: usb_modeswitch -v 12d1 -p " pid " -J " \
    "(the usb-modeswitch package does this at plug-in)"
#define HILINK_HUAWEI \
    "HiLink firmware is a network card with no AT port: re-plug it and, while it shows " \
    "12d1:1f01, run usb_modeswitch -v 12d1 -p 1f01 -M " \
    "55534243123456780000000000000011063000000100010000000000000000 " \
    "(serial mode, 12d1:1001), or flash a stick (non-HiLink) firmware"
#define ZTE_K(pid) \
    "switch it to modem mode: usb_modeswitch -v 19d2 -p " pid " -K " \
    "(the usb-modeswitch package does this at plug-in)"
#define NET_ZTE \
    "this firmware is a network card with no AT port: use a model or firmware that " \
    "exposes serial ports"
#define ALCATEL_M(pid) \
    "switch it to modem mode: usb_modeswitch -v 1bbb -p " pid " -M " \
    "55534243123456788000000080000606f50402527000000000000000000000"

static const struct serial_usb_known known[] = {
    { 0x12d1, 0x1f01, SERIAL_USB_MASS_STORAGE, "Huawei E3372/E303/E3131",
      HUAWEI_J("1f01") "; if it then shows 12d1:14dc (HiLink), use -M "
      "55534243123456780000000000000011063000000100010000000000000000 instead" },
    { 0x12d1, 0x1446, SERIAL_USB_MASS_STORAGE, "Huawei E1550/E1752/E173", HUAWEI_J("1446") },
    { 0x12d1, 0x1505, SERIAL_USB_MASS_STORAGE, "Huawei E398/E3276", HUAWEI_J("1505") },
    { 0x12d1, 0x14fe, SERIAL_USB_MASS_STORAGE, "Huawei E352/E3131", HUAWEI_J("14fe") },
    { 0x12d1, 0x155b, SERIAL_USB_MASS_STORAGE, "Huawei E3131/E3531", HUAWEI_J("155b") },
    { 0x12d1, 0x157d, SERIAL_USB_MASS_STORAGE, "Huawei E3533", HUAWEI_J("157d") },
    { 0x12d1, 0x15e7, SERIAL_USB_MASS_STORAGE, "Huawei E3531", HUAWEI_J("15e7") },
    { 0x12d1, 0x1c0b, SERIAL_USB_MASS_STORAGE, "Huawei E173s", HUAWEI_J("1c0b") },
    { 0x12d1, 0x14db, SERIAL_USB_HILINK, "Huawei E3131/E353/E3533 HiLink", HILINK_HUAWEI },
    { 0x12d1, 0x14dc, SERIAL_USB_HILINK, "Huawei E3372/E303 HiLink", HILINK_HUAWEI },
    { 0x19d2, 0x2000, SERIAL_USB_MASS_STORAGE, "ZTE MF627/MF636/MF190", ZTE_K("2000") },
    { 0x19d2, 0x1225, SERIAL_USB_MASS_STORAGE, "ZTE MF667/MF823", ZTE_K("1225") },
    { 0x19d2, 0x0150, SERIAL_USB_MASS_STORAGE, "ZTE MF680", ZTE_K("0150") },
    { 0x19d2, 0x1405, SERIAL_USB_HILINK, "ZTE MF823/MF833 (CDC-ether)", NET_ZTE },
    { 0x19d2, 0x1403, SERIAL_USB_HILINK, "ZTE MF823 (RNDIS)", NET_ZTE },
    { 0x1bbb, 0xf000, SERIAL_USB_MASS_STORAGE, "Alcatel X060S/X220/X500", ALCATEL_M("f000") },
    { 0x1bbb, 0xf017, SERIAL_USB_MASS_STORAGE, "Alcatel One Touch L100V", ALCATEL_M("f017") },
    /* Already in modem mode: named, so the listing says what they are. */
    { 0x12d1, 0x1001, SERIAL_USB_MODEM, "Huawei E169/E620/E800 (or a switched stick)", "" },
    { 0x12d1, 0x1003, SERIAL_USB_MODEM, "Huawei E220", "" },
    { 0x12d1, 0x1436, SERIAL_USB_MODEM, "Huawei E173", "" },
    { 0x12d1, 0x1506, SERIAL_USB_MODEM, "Huawei E3372/E3131 (stick mode)", "" },
    { 0x19d2, 0x0031, SERIAL_USB_MODEM, "ZTE MF110/MF627/MF636", "" },
};

const struct serial_usb_known *serial_usb_lookup(unsigned vid, unsigned pid)
{
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (known[i].vid == vid && known[i].pid == pid)
            return &known[i];
    return NULL;
}

const char *serial_usb_mode_name(enum serial_usb_mode mode)
{
    switch (mode) {
    case SERIAL_USB_MASS_STORAGE: return "mass-storage";
    case SERIAL_USB_HILINK: return "hilink";
    case SERIAL_USB_MODEM: break;
    }
    return "modem";
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

/* ---- sysfs ------------------------------------------------------------------ */

/* Reads the first line of dir/name into buf (no newline); false if absent. */
static bool read_attr(const char *dir, const char *name, char *buf, size_t size)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fgets(buf, (int)size, f) != NULL;
    fclose(f);
    if (ok)
        buf[strcspn(buf, "\r\n")] = '\0';
    return ok;
}

static int read_num(const char *dir, const char *name, int base)
{
    char buf[32], *end;
    if (!read_attr(dir, name, buf, sizeof buf) || !buf[0])
        return -1;
    long v = strtol(buf, &end, base);
    return *end || v < 0 || v > 0xffff ? -1 : (int)v;
}

int serial_usb_interface(const char *sysfs_root, const char *tty_path)
{
    const char *base = strrchr(tty_path, '/');
    base = base ? base + 1 : tty_path;
    char link[PATH_MAX], dev[PATH_MAX], parent[PATH_MAX + 4];
    snprintf(link, sizeof link, "%s/class/tty/%s/device", sysfs_root ? sysfs_root : "/sys",
             base);
    if (!realpath(link, dev))
        return -1;
    /* ttyACM: device is the interface; ttyUSB: device is a port under it. */
    int n = read_num(dev, "bInterfaceNumber", 16);
    if (n >= 0)
        return n;
    snprintf(parent, sizeof parent, "%s/..", dev);
    return read_num(parent, "bInterfaceNumber", 16);
}

static bool device_from_sysfs(const char *dir, struct serial_usb_device *d)
{
    d->vid = read_num(dir, "idVendor", 16);
    d->pid = read_num(dir, "idProduct", 16);
    if (d->vid < 0 || d->pid < 0)
        return false;
    d->known = serial_usb_lookup((unsigned)d->vid, (unsigned)d->pid);
    if (!d->known || d->known->mode == SERIAL_USB_MODEM)
        return false;
    d->bus = read_num(dir, "busnum", 10);
    d->address = read_num(dir, "devnum", 10);
    if (!read_attr(dir, "manufacturer", d->manufacturer, sizeof d->manufacturer))
        d->manufacturer[0] = '\0';
    if (!read_attr(dir, "product", d->product, sizeof d->product))
        d->product[0] = '\0';
    if (!read_attr(dir, "serial", d->serial, sizeof d->serial))
        d->serial[0] = '\0';
    return true;
}

bool serial_usb_scan_modes(const char *sysfs_root, struct serial_usb_device **out, size_t *n)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/bus/usb/devices", sysfs_root ? sysfs_root : "/sys");
    *out = NULL;
    *n = 0;
    DIR *dir = opendir(path);
    if (!dir)
        return errno == ENOENT; /* no USB at all is not an error */
    size_t cap = 0;
    struct dirent *e;
    bool ok = true;
    while (ok && (e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.' || strchr(e->d_name, ':'))
            continue; /* interfaces are "1-1:1.0"; devices have no colon */
        char dev[PATH_MAX + 256];
        snprintf(dev, sizeof dev, "%s/%s", path, e->d_name);
        struct serial_usb_device d = { 0 };
        if (!device_from_sysfs(dev, &d))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 4;
            struct serial_usb_device *grown = realloc(*out, cap * sizeof **out);
            ok = grown != NULL;
            if (ok)
                *out = grown;
        }
        if (ok)
            (*out)[(*n)++] = d;
    }
    closedir(dir);
    return ok;
}

/* ---- libserialport ---------------------------------------------------------- */

static void copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

static void port_info(struct sp_port *p, struct serial_port_info *info)
{
    *info = (struct serial_port_info){ .vid = -1, .pid = -1, .bus = -1, .address = -1,
                                       .interface = -1 };
    copy_str(info->path, sizeof info->path, sp_get_port_name(p));
    copy_str(info->description, sizeof info->description, sp_get_port_description(p));
    if (sp_get_port_transport(p) != SP_TRANSPORT_USB)
        return;
    info->usb = true;
    sp_get_port_usb_vid_pid(p, &info->vid, &info->pid);
    sp_get_port_usb_bus_address(p, &info->bus, &info->address);
    copy_str(info->manufacturer, sizeof info->manufacturer, sp_get_port_usb_manufacturer(p));
    copy_str(info->product, sizeof info->product, sp_get_port_usb_product(p));
    copy_str(info->serial, sizeof info->serial, sp_get_port_usb_serial(p));
    info->interface = serial_usb_interface(NULL, info->path);
}

static int cmp_int(int a, int b)
{
    return (a > b) - (a < b);
}

static int port_cmp(const void *pa, const void *pb)
{
    const struct serial_port_info *a = pa, *b = pb;
    int c = cmp_int(b->usb, a->usb); /* USB first */
    if (!c)
        c = cmp_int(a->bus, b->bus);
    if (!c)
        c = cmp_int(a->address, b->address);
    if (!c)
        c = cmp_int(a->interface, b->interface);
    return c ? c : strcmp(a->path, b->path);
}

bool serial_usb_list(struct serial_port_info **out, size_t *n, char *err, size_t errsz)
{
    struct sp_port **ports = NULL;
    *out = NULL;
    *n = 0;
    if (sp_list_ports(&ports) != SP_OK) {
        set_err(err, errsz, "cannot list serial ports (libserialport failed)");
        return false;
    }
    size_t count = 0;
    while (ports[count])
        count++;
    *out = calloc(count ? count : 1, sizeof **out);
    if (!*out) {
        sp_free_port_list(ports);
        set_err(err, errsz, "cannot list serial ports: out of memory");
        return false;
    }
    for (size_t i = 0; i < count; i++)
        port_info(ports[i], &(*out)[i]);
    sp_free_port_list(ports);
    qsort(*out, count, sizeof **out, port_cmp);
    *n = count;
    return true;
}

static bool spec_matches(const struct serial_usb_spec *spec, const struct serial_port_info *p)
{
    if (!p->usb || p->vid != (int)spec->vid || p->pid != (int)spec->pid)
        return false;
    if (spec->serial[0] && strcmp(spec->serial, p->serial) != 0)
        return false;
    return spec->interface == SERIAL_ANY_INTERFACE || spec->interface == p->interface;
}

static void describe_spec(const struct serial_usb_spec *spec, char *buf, size_t size)
{
    int len = snprintf(buf, size, "%04x:%04x", spec->vid, spec->pid);
    if (spec->serial[0] && len > 0 && (size_t)len < size)
        len += snprintf(buf + len, size - (size_t)len, " serial %s", spec->serial);
    if (spec->interface != SERIAL_ANY_INTERFACE && len > 0 && (size_t)len < size)
        snprintf(buf + len, size - (size_t)len, " interface %d", spec->interface);
}

bool serial_usb_resolve(const struct serial_usb_spec *spec, char *path, size_t pathsz,
                        char *err, size_t errsz)
{
    struct serial_port_info *ports;
    size_t n;
    if (!serial_usb_list(&ports, &n, err, errsz))
        return false;
    /* Sorted by interface then path: the first match is the rule's choice. */
    const struct serial_port_info *pick = NULL;
    for (size_t i = 0; i < n && !pick; i++)
        if (spec_matches(spec, &ports[i]))
            pick = &ports[i];
    if (pick)
        snprintf(path, pathsz, "%s", pick->path);
    free(ports);
    if (pick)
        return true;
    char what[256];
    describe_spec(spec, what, sizeof what);
    const struct serial_usb_known *k = serial_usb_lookup(spec->vid, spec->pid);
    if (k && k->mode != SERIAL_USB_MODEM)
        set_err(err, errsz, "port usb:%s: no serial port attached; %04x:%04x is a %s in %s "
                "mode: %s", what, spec->vid, spec->pid, k->model, serial_usb_mode_name(k->mode),
                k->hint);
    else
        set_err(err, errsz, "port usb:%s: no serial port of such a USB device is attached",
                what);
    return false;
}

bool serial_usb_reset(const char *tty_path, char *err, size_t errsz)
{
    struct serial_port_info *ports = NULL;
    size_t n = 0;
    char real[PATH_MAX];
    if (!realpath(tty_path, real))
        snprintf(real, sizeof real, "%s", tty_path);
    if (!serial_usb_list(&ports, &n, err, errsz))
        return false;
    int bus = -1, address = -1;
    for (size_t i = 0; i < n; i++) {
        if (ports[i].usb && strcmp(ports[i].path, real) == 0) {
            bus = ports[i].bus;
            address = ports[i].address;
        }
    }
    free(ports);
    if (bus < 0 || address < 0) {
        snprintf(err, errsz, "%s is not a USB serial port: nothing to reset", tty_path);
        return false;
    }
    char dev[64];
    snprintf(dev, sizeof dev, "/dev/bus/usb/%03d/%03d", bus, address);
    int fd = open(dev, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ioctl(fd, USBDEVFS_RESET, 0) != 0) {
        snprintf(err, errsz, "cannot reset USB device %s: %s", dev, strerror(errno));
        if (fd >= 0)
            close(fd);
        return false;
    }
    close(fd);
    return true;
}
