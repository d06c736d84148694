/*
 * cmd_modems: `homing modems [--probe] [--json] [PORT...]`.
 *
 * Without PORTs it lists the system's serial ports grouped by USB device (a
 * USB modem exposes several: modem, diagnostics, PC UI), says which answer
 * AT, and adds the USB modems that show no port at all because they sit in
 * mass-storage or HiLink mode, with how to switch them. With PORTs (paths,
 * links such as modem-sim's ptys, or usb: specs) it probes exactly those,
 * each as its own entry. --probe also asks each answering port for model,
 * manufacturer, IMEI, IMSI, signal and registration.
 *
 * Only USB ports are sent AT when listing: a built-in ttyS/ttyAMA port may be
 * a login console. Name such a port explicitly to probe it. A port the
 * service holds is reported as in use, never disturbed.
 */
#include "gateway/cli.h"
#include "gateway/commands.h"
#include "modem/probe.h"
#include "modem/serial.h"

#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CMD = "modems";

struct modems_args {
    bool json, probe;
    char **ports;
    int nports;
};

/* One row of the listing: a port and what probing it found. */
struct port_row {
    struct serial_port_info info;
    bool probed;
    struct probe_result result;
};

/* One USB device (or one explicit or non-USB port): ports [first, first+count). */
struct device {
    struct serial_port_info id;   /* USB fields of the device */
    const struct serial_usb_known *known;
    size_t first, count;
    bool given;                   /* named on the command line */
};

struct listing {
    struct port_row *rows;
    size_t nrows;
    struct device *devs;
    size_t ndevs;
};

static const struct option long_opts[] = {
    { "json", no_argument, NULL, 'j' },
    { "probe", no_argument, NULL, 'p' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static int parse_args(int argc, char **argv, struct modems_args *a)
{
    int ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "c:h", long_opts, NULL)) != -1) {
        switch (ch) {
        case 'j': a->json = true; break;
        case 'p': a->probe = true; break;
        case 'c': break; /* no configuration needed */
        case 'h': cli_print_help(CMD, stdout); return CLI_OK;
        default: return cli_usage(CMD, "unknown option");
        }
    }
    a->ports = argv + optind;
    a->nports = argc - optind;
    return -1;
}

static bool add_device(struct listing *l, const struct serial_port_info *id, size_t first,
                       size_t count, bool given)
{
    struct device *grown = realloc(l->devs, (l->ndevs + 1) * sizeof *grown);
    if (!grown)
        return false;
    l->devs = grown;
    struct device *d = &l->devs[l->ndevs++];
    *d = (struct device){ .id = *id, .first = first, .count = count, .given = given };
    if (id->usb)
        d->known = serial_usb_lookup((unsigned)id->vid, (unsigned)id->pid);
    return true;
}

static bool same_device(const struct serial_port_info *a, const struct serial_port_info *b)
{
    return a->usb && b->usb && a->bus == b->bus && a->address == b->address;
}

/* Enumerated ports, sorted by device: consecutive ports of one device form a group. */
static bool group_ports(struct listing *l)
{
    for (size_t i = 0; i < l->nrows;) {
        size_t j = i + 1;
        while (j < l->nrows && same_device(&l->rows[i].info, &l->rows[j].info))
            j++;
        if (!add_device(l, &l->rows[i].info, i, j - i, false))
            return false;
        i = j;
    }
    return true;
}

static bool add_mode_devices(struct listing *l)
{
    struct serial_usb_device *found;
    size_t n;
    if (!serial_usb_scan_modes(NULL, &found, &n))
        return false;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        struct serial_port_info id = { .usb = true, .vid = found[i].vid, .pid = found[i].pid,
                                       .bus = found[i].bus, .address = found[i].address,
                                       .interface = -1 };
        memcpy(id.manufacturer, found[i].manufacturer, sizeof id.manufacturer);
        memcpy(id.product, found[i].product, sizeof id.product);
        memcpy(id.serial, found[i].serial, sizeof id.serial);
        ok = add_device(l, &id, l->nrows, 0, false);
    }
    free(found);
    return ok;
}

/* USB details of an explicit path, when it is one of the enumerated ports. */
static void explicit_info(const char *port, const struct serial_port_info *all, size_t n,
                          struct serial_port_info *out)
{
    *out = (struct serial_port_info){ .vid = -1, .pid = -1, .bus = -1, .address = -1,
                                      .interface = -1 };
    snprintf(out->path, sizeof out->path, "%s", port);
    char real[PATH_MAX];
    struct serial_usb_spec spec;
    if (serial_is_usb_spec(port)) {
        if (!serial_usb_parse(port, &spec, NULL, 0))
            return; /* probing it reports why */
        out->usb = true; /* at least its ids, with the mode table's word on them */
        out->vid = (int)spec.vid;
        out->pid = (int)spec.pid;
        if (!serial_usb_resolve(&spec, real, sizeof real, NULL, 0))
            return;
    } else if (!realpath(port, real)) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(all[i].path, real) == 0) {
            *out = all[i];
            snprintf(out->path, sizeof out->path, "%s", port);
            return;
        }
    }
}

static bool build_explicit(struct listing *l, const struct modems_args *a)
{
    struct serial_port_info *all = NULL;
    size_t n = 0;
    char err[256];
    if (!serial_usb_list(&all, &n, err, sizeof err))
        n = 0; /* explicit paths still work without enumeration */
    l->rows = calloc((size_t)a->nports, sizeof *l->rows);
    bool ok = l->rows != NULL;
    for (int i = 0; ok && i < a->nports; i++) {
        explicit_info(a->ports[i], all, n, &l->rows[i].info);
        l->nrows++;
        ok = add_device(l, &l->rows[i].info, (size_t)i, 1, true);
    }
    free(all);
    return ok;
}

static bool build_enumerated(struct listing *l, char *err, size_t errsz)
{
    struct serial_port_info *all;
    size_t n;
    if (!serial_usb_list(&all, &n, err, errsz))
        return false;
    l->rows = calloc(n ? n : 1, sizeof *l->rows);
    if (!l->rows) {
        free(all);
        snprintf(err, errsz, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++)
        l->rows[i].info = all[i];
    l->nrows = n;
    free(all);
    if (!group_ports(l) || !add_mode_devices(l)) {
        snprintf(err, errsz, "out of memory");
        return false;
    }
    return true;
}

static void probe_rows(struct listing *l, bool full)
{
    for (size_t d = 0; d < l->ndevs; d++) {
        const struct device *dev = &l->devs[d];
        for (size_t i = dev->first; i < dev->first + dev->count; i++) {
            struct port_row *row = &l->rows[i];
            if (!dev->given && !row->info.usb)
                continue; /* maybe a console: probe only when named */
            row->probed = true;
            probe_port(row->info.path, full, &row->result);
        }
    }
}

/* ---- output ------------------------------------------------------------------ */

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *hex_or_null(int v)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%04x", (unsigned)v & 0xffffu);
    return v >= 0 ? json_string(buf) : json_null();
}

static json_t *port_json(const struct port_row *row)
{
    const struct probe_result *r = &row->result;
    json_t *o = json_object();
    json_object_set_new(o, "path", json_string(row->info.path));
    json_object_set_new(o, "interface",
                        row->info.interface >= 0 ? json_integer(row->info.interface)
                                                 : json_null());
    json_object_set_new(o, "answers_at", row->probed ? json_boolean(r->answers_at) : json_null());
    json_object_set_new(o, "model", str_or_null(r->model));
    json_object_set_new(o, "manufacturer", str_or_null(r->manufacturer));
    json_object_set_new(o, "imei", str_or_null(r->imei));
    json_object_set_new(o, "imsi", str_or_null(r->imsi));
    json_object_set_new(o, "signal_dbm", r->has_signal ? json_integer(r->signal_dbm) : json_null());
    json_object_set_new(o, "registration", str_or_null(r->registration));
    json_object_set_new(o, "error", str_or_null(r->error));
    return o;
}

static const char *device_mode(const struct device *d)
{
    return serial_usb_mode_name(d->known ? d->known->mode : SERIAL_USB_MODEM);
}

static json_t *device_json(const struct listing *l, const struct device *d)
{
    json_t *o = json_object();
    json_object_set_new(o, "vid", hex_or_null(d->id.usb ? d->id.vid : -1));
    json_object_set_new(o, "pid", hex_or_null(d->id.usb ? d->id.pid : -1));
    json_object_set_new(o, "manufacturer", str_or_null(d->id.manufacturer));
    json_object_set_new(o, "product", str_or_null(d->id.product));
    json_object_set_new(o, "serial", str_or_null(d->id.serial));
    json_object_set_new(o, "usb_model", str_or_null(d->known ? d->known->model : NULL));
    json_object_set_new(o, "mode", json_string(device_mode(d)));
    json_object_set_new(o, "hint", str_or_null(d->known ? d->known->hint : NULL));
    json_t *ports = json_array();
    for (size_t i = d->first; i < d->first + d->count; i++)
        json_array_append_new(ports, port_json(&l->rows[i]));
    json_object_set_new(o, "ports", ports);
    return o;
}

static void print_device_head(const struct device *d)
{
    if (!d->id.usb) {
        printf("%s%s\n", d->id.path, d->given ? "" : " (not USB: name it to probe it)");
        return;
    }
    printf("%04x:%04x", (unsigned)d->id.vid, (unsigned)d->id.pid);
    if (d->id.manufacturer[0] || d->id.product[0])
        printf(" %s %s", d->id.manufacturer, d->id.product);
    if (d->id.serial[0])
        printf(" serial %s", d->id.serial);
    if (d->id.bus >= 0)
        printf(" bus %d address %d", d->id.bus, d->id.address);
    printf(", %s", device_mode(d));
    if (d->known)
        printf(" (%s)", d->known->model);
    putchar('\n');
    if (d->known && d->known->hint[0])
        printf("  %s\n", d->known->hint);
}

static void print_port(const struct port_row *row)
{
    const struct probe_result *r = &row->result;
    printf("  %s", row->info.path);
    if (row->info.interface >= 0)
        printf("  interface %d", row->info.interface);
    if (!row->probed)
        printf("  not probed\n");
    else if (!r->opened)
        printf("  %s\n", r->error);
    else
        printf("  %s\n", r->answers_at ? "answers AT" : "no answer to AT within 1 s");
    if (r->model[0] || r->manufacturer[0])
        printf("    %s %s\n", r->manufacturer, r->model);
    if (r->imei[0] || r->imsi[0])
        printf("    IMEI %s  IMSI %s\n", r->imei[0] ? r->imei : "?", r->imsi[0] ? r->imsi : "?");
    if (r->has_signal || r->registration[0]) {
        if (r->has_signal)
            printf("    signal %d dBm", r->signal_dbm);
        else
            printf("    signal unknown");
        printf("  registration %s\n", r->registration[0] ? r->registration : "unknown");
    }
}

static void print_listing(const struct listing *l, bool json)
{
    if (json) {
        json_t *list = json_array();
        for (size_t d = 0; d < l->ndevs; d++)
            json_array_append_new(list, device_json(l, &l->devs[d]));
        cli_print_json(list);
        return;
    }
    if (l->ndevs == 0)
        printf("no serial ports or USB modems found\n");
    for (size_t d = 0; d < l->ndevs; d++) {
        print_device_head(&l->devs[d]);
        for (size_t i = l->devs[d].first; i < l->devs[d].first + l->devs[d].count; i++)
            print_port(&l->rows[i]);
    }
}

int cmd_modems(int argc, char **argv)
{
    struct modems_args a = { 0 };
    int r = parse_args(argc, argv, &a);
    if (r >= 0)
        return r;
    struct listing l = { 0 };
    char err[256] = "out of memory";
    bool ok = a.nports > 0 ? build_explicit(&l, &a) : build_enumerated(&l, err, sizeof err);
    if (ok) {
        probe_rows(&l, a.probe);
        print_listing(&l, a.json);
    }
    free(l.rows);
    free(l.devs);
    return ok ? CLI_OK : cli_error(CMD, "%s", err);
}
