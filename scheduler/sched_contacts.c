/*
 * sched_contacts: see sched_contacts.h. The import is built for a million
 * rows: the file is mapped (sched_csv), one upsert statement is prepared per
 * import and rows are committed 10,000 to a transaction, so the cost per row
 * is the parse, the number's normalisation and one sqlite step. Time zones
 * are checked against the system database once per distinct name.
 */
#include "scheduler/sched_contacts.h"

#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/conf.h"
#include "gateway/clock.h"
#include "gateway/phone.h"
#include "gateway/store.h"
#include "scheduler/sched_csv.h"

enum col_kind { COL_PHONE, COL_NAME, COL_TIMEZONE, COL_CONSENT, COL_CONSENT_AT, COL_ATTR };

struct column {
    enum col_kind kind;
    char *name;                  /* attributes: the key, as written in the header */
};

struct tz_seen {
    char name[64];
    bool ok;
};

struct importer {
    struct sched_import *imp;
    sqlite3 *db;
    sqlite3_stmt *upsert;
    struct column *cols;
    size_t n_cols;
    bool has_attrs;
    struct tz_seen tz[64];
    size_t n_tz, tz_next;
    long pending;                /* rows in the open transaction */
    const char *path;
    char *err;
    size_t err_size;
};

static const char upsert_sql[] =
    "INSERT INTO contacts (recipient, name, timezone, consent, consent_at, attributes, "
    "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, coalesce(?6, '{}'), ?7, ?7) "
    "ON CONFLICT (recipient) DO UPDATE SET "
    "name = coalesce(excluded.name, name), timezone = coalesce(excluded.timezone, timezone), "
    "consent = coalesce(excluded.consent, consent), "
    "consent_at = CASE WHEN excluded.consent IS NULL THEN consent_at ELSE excluded.consent_at END, "
    "attributes = CASE WHEN ?6 IS NULL THEN attributes ELSE json_patch(attributes, ?6) END, "
    "updated_at = excluded.updated_at";

/* --- the header ------------------------------------------------------------ */

static void trim(const char **s, size_t *len)
{
    while (*len && isspace((unsigned char)**s))
        (*s)++, (*len)--;
    while (*len && isspace((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

static enum col_kind column_kind(const char *name, size_t len)
{
    static const struct { const char *name; enum col_kind kind; } known[] = {
        { "phone", COL_PHONE },       { "msisdn", COL_PHONE },    { "name", COL_NAME },
        { "timezone", COL_TIMEZONE }, { "consent", COL_CONSENT }, { "consent_at", COL_CONSENT_AT },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen(known[i].name) == len && strncasecmp(known[i].name, name, len) == 0)
            return known[i].kind;
    return COL_ATTR;
}

static bool same_column(const struct column *a, const struct column *b)
{
    return a->kind == b->kind && (a->kind != COL_ATTR || strcmp(a->name, b->name) == 0);
}

static bool read_header(struct importer *im, const char *const *f, size_t n)
{
    im->cols = calloc(n, sizeof *im->cols);
    if (!im->cols)
        abort();
    bool phone = false;
    for (size_t i = 0; i < n; i++) {
        const char *name = f[i];
        size_t len = strlen(name);
        trim(&name, &len);
        if (len == 0) {
            snprintf(im->err, im->err_size, "%s:1: column %zu of the header has no name",
                     im->path, i + 1);
            return false;
        }
        struct column *c = &im->cols[i];
        c->kind = column_kind(name, len);
        c->name = strndup(name, len);
        im->n_cols++;
        phone |= c->kind == COL_PHONE;
        im->has_attrs |= c->kind == COL_ATTR;
        for (size_t j = 0; j < i; j++)
            if (same_column(&im->cols[j], c)) {
                snprintf(im->err, im->err_size, "%s:1: columns %zu and %zu are both '%s'",
                         im->path, j + 1, i + 1, c->name);
                return false;
            }
    }
    if (!phone)
        snprintf(im->err, im->err_size, "%s:1: the header has no phone column (phone or "
                 "msisdn); the first line must name the columns", im->path);
    return phone;
}

/* --- one row --------------------------------------------------------------- */

static bool tz_known(struct importer *im, const char *tz)
{
    for (size_t i = 0; i < im->n_tz; i++)
        if (strcmp(im->tz[i].name, tz) == 0)
            return im->tz[i].ok;
    bool ok = strlen(tz) < sizeof im->tz[0].name && conf_timezone_exists(tz);
    struct tz_seen *slot = &im->tz[im->n_tz < 64 ? im->n_tz++ : im->tz_next++ % 64];
    snprintf(slot->name, sizeof slot->name, "%s", tz);
    slot->ok = ok;
    return ok;
}

/* A date (YYYY-MM-DD, midnight local time) or an ISO 8601 time. */
static bool parse_when(const char *text, int64_t *t)
{
    char buf[40];
    size_t len = strlen(text);
    if (len == 10 && text[4] == '-' && text[7] == '-') {
        snprintf(buf, sizeof buf, "%sT00:00", text);
        return clock_parse_iso8601(buf, t);
    }
    if (len > 10 && len < sizeof buf && text[10] == ' ') {
        snprintf(buf, sizeof buf, "%s", text);
        buf[10] = 'T';
        return clock_parse_iso8601(buf, t);
    }
    return clock_parse_iso8601(text, t);
}

struct row {
    char e164[PHONE_E164_MAX];
    const char *name, *timezone, *consent, *consent_at_text;
    int64_t consent_at;
    json_t *attrs;
};

static bool parse_consent(struct row *r, char *why, size_t why_size)
{
    static const char *const yes[] = { "yes", "y", "true", "1" }, *const no[] = { "no", "n", "false", "0" };
    const char *v = r->consent;
    r->consent = NULL;
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            r->consent = "yes";
        else if (strcasecmp(v, no[i]) == 0)
            r->consent = "no";
    }
    if (!r->consent && parse_when(v, &r->consent_at))
        r->consent = "yes";
    if (!r->consent) {
        snprintf(why, why_size, "consent '%s' is not yes/no, true/false, 1/0 or a date", v);
        return false;
    }
    return true;
}

static bool check_row(struct importer *im, struct row *r, char *why, size_t why_size)
{
    if (r->consent_at_text && !parse_when(r->consent_at_text, &r->consent_at)) {
        snprintf(why, why_size, "consent_at '%s' is not a date (YYYY-MM-DD) or an ISO 8601 time",
                 r->consent_at_text);
        return false;
    }
    if (r->consent_at_text && !r->consent) {
        snprintf(why, why_size, "consent_at is given but consent is empty");
        return false;
    }
    if (r->consent && !parse_consent(r, why, why_size))
        return false;
    if (r->consent && !r->consent_at)
        r->consent_at = im->imp->now;
    if (r->timezone && !tz_known(im, r->timezone)) {
        snprintf(why, why_size, "timezone '%s' is not an IANA time zone (like Europe/Dublin)",
                 r->timezone);
        return false;
    }
    return true;
}

/* Fills `r` from the fields; false with why when the row is wrong. */
static bool read_row(struct importer *im, const char *const *f, size_t n, struct row *r,
                     char *why, size_t why_size)
{
    if (n != im->n_cols) {
        snprintf(why, why_size, "has %zu field%s, the header has %zu", n, n == 1 ? "" : "s",
                 im->n_cols);
        return false;
    }
    const char *phone = "";
    for (size_t i = 0; i < n; i++) {
        const char *v = *f[i] ? f[i] : NULL;
        switch (im->cols[i].kind) {
        case COL_PHONE: phone = f[i]; break;
        case COL_NAME: r->name = v; break;
        case COL_TIMEZONE: r->timezone = v; break;
        case COL_CONSENT: r->consent = v; break;
        case COL_CONSENT_AT: r->consent_at_text = v; break;
        case COL_ATTR:
            if (v)
                json_object_set_new(r->attrs, im->cols[i].name, json_string(v));
            break;
        }
    }
    char reason[200];
    if (!*phone) {
        snprintf(why, why_size, "no phone number");
        return false;
    }
    if (!phone_normalize(phone, im->imp->country, r->e164, reason, sizeof reason)) {
        snprintf(why, why_size, "phone: %s", reason);
        return false;
    }
    return check_row(im, r, why, why_size);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static bool write_row(struct importer *im, const struct row *r)
{
    sqlite3_stmt *s = im->upsert;
    char *attrs = r->attrs && json_object_size(r->attrs) ? json_dumps(r->attrs, JSON_COMPACT) : NULL;
    sqlite3_bind_text(s, 1, r->e164, -1, SQLITE_STATIC);
    bind_text(s, 2, r->name);
    bind_text(s, 3, r->timezone);
    bind_text(s, 4, r->consent);
    if (r->consent)
        sqlite3_bind_int64(s, 5, r->consent_at);
    else
        sqlite3_bind_null(s, 5);
    bind_text(s, 6, attrs);
    sqlite3_bind_int64(s, 7, im->imp->now);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    free(attrs);
    if (rc != SQLITE_DONE)
        snprintf(im->err, im->err_size, "database: %s", sqlite3_errmsg(im->db));
    return rc == SQLITE_DONE;
}

/* --- transactions ----------------------------------------------------------- */

static bool exec(struct importer *im, const char *sql)
{
    if (sqlite3_exec(im->db, sql, NULL, NULL, NULL) == SQLITE_OK)
        return true;
    snprintf(im->err, im->err_size, "database: %s", sqlite3_errmsg(im->db));
    return false;
}

static bool commit(struct importer *im)
{
    if (im->pending == 0)
        return true;
    if (!exec(im, "COMMIT")) {
        sqlite3_exec(im->db, "ROLLBACK", NULL, NULL, NULL);
        im->pending = 0;
        return false;
    }
    im->imp->imported += im->pending;
    im->pending = 0;
    return true;
}

static bool import_row(struct importer *im, const char *const *f, size_t n, long line)
{
    struct row r = { .attrs = im->has_attrs ? json_object() : NULL };
    char why[300];
    bool ok = read_row(im, f, n, &r, why, sizeof why);
    if (!ok) {
        im->imp->skipped++;
        if (im->imp->bad_row)
            im->imp->bad_row(line, why, im->imp->arg);
        json_decref(r.attrs);
        return true;
    }
    bool written = (im->pending > 0 || exec(im, "BEGIN IMMEDIATE")) && write_row(im, &r);
    json_decref(r.attrs);
    if (!written)
        return false;
    size_t batch = im->imp->batch ? im->imp->batch : 10000;
    return ++im->pending < (long)batch || commit(im);
}

static bool import_rows(struct importer *im, struct sched_csv *csv)
{
    const char *const *f;
    size_t n, done, total;
    long line, rows = 0;
    char why[300];
    int rc;
    while ((rc = sched_csv_next(csv, &f, &n, &line, why, sizeof why)) != 0) {
        if (rc < 0) {
            im->imp->skipped++;
            if (im->imp->bad_row)
                im->imp->bad_row(line, why, im->imp->arg);
        } else if (!import_row(im, f, n, line)) {
            return false;
        }
        if (++rows % 4096 == 0 && im->imp->progress) {
            sched_csv_progress(csv, &done, &total);
            im->imp->progress(done, total, rows, im->imp->arg);
        }
    }
    if (im->imp->progress) {
        sched_csv_progress(csv, &done, &total);
        im->imp->progress(done, total, rows, im->imp->arg);
    }
    return commit(im);
}

bool sched_contacts_import(struct store *st, const char *path, struct sched_import *imp,
                           char *err, size_t err_size)
{
    struct importer im = { .imp = imp, .db = store_handle(st), .path = path, .err = err,
                           .err_size = err_size };
    const char *const *f;
    size_t n;
    long line;
    imp->imported = imp->skipped = 0;
    struct sched_csv *csv = sched_csv_open(path, err, err_size);
    if (!csv)
        return false;
    int rc = sched_csv_next(csv, &f, &n, &line, err, err_size);
    bool ok = rc > 0 && read_header(&im, f, n);
    if (rc == 0)
        snprintf(err, err_size, "%s is empty: the first line must name the columns "
                 "(phone, name, timezone, consent ...)", path);
    else if (rc < 0)
        snprintf(err, err_size, "%s:1: the header cannot be read", path);
    if (ok && sqlite3_prepare_v2(im.db, upsert_sql, -1, &im.upsert, NULL) != SQLITE_OK) {
        snprintf(err, err_size, "database: %s", sqlite3_errmsg(im.db));
        ok = false;
    }
    ok = ok && import_rows(&im, csv);
    if (!ok && im.pending)
        sqlite3_exec(im.db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_finalize(im.upsert);
    for (size_t i = 0; i < im.n_cols; i++)
        free(im.cols[i].name);
    free(im.cols);
    sched_csv_free(csv);
    return ok;
}

/* --- reading ---------------------------------------------------------------- */

static void set_text(json_t *obj, const char *key, const unsigned char *v)
{
    if (v && *v)
        json_object_set_new(obj, key, json_string((const char *)v));
}

struct sched_contact_reader {
    sqlite3 *db;
    sqlite3_stmt *get;
};

struct sched_contact_reader *sched_contact_reader_new(struct store *st, char *err,
                                                      size_t err_size)
{
    struct sched_contact_reader *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->db = store_handle(st);
    if (sqlite3_prepare_v2(r->db, "SELECT name, timezone, consent, consent_at, attributes FROM "
                           "contacts WHERE recipient = ?1", -1, &r->get, NULL) != SQLITE_OK) {
        snprintf(err, err_size, "database: %s", sqlite3_errmsg(r->db));
        free(r);
        return NULL;
    }
    return r;
}

void sched_contact_reader_free(struct sched_contact_reader *r)
{
    if (!r)
        return;
    sqlite3_finalize(r->get);
    free(r);
}

static void contact_from_row(sqlite3_stmt *s, struct sched_contact *out)
{
    out->found = true;
    const char *attrs = (const char *)sqlite3_column_text(s, 4);
    out->fields = attrs ? json_loads(attrs, 0, NULL) : NULL;
    if (!json_is_object(out->fields)) {
        json_decref(out->fields);
        out->fields = json_object();
    }
    set_text(out->fields, "name", sqlite3_column_text(s, 0));
    set_text(out->fields, "timezone", sqlite3_column_text(s, 1));
    const char *tz = (const char *)sqlite3_column_text(s, 1);
    snprintf(out->timezone, sizeof out->timezone, "%s", tz ? tz : "");
    const char *consent = (const char *)sqlite3_column_text(s, 2);
    snprintf(out->consent, sizeof out->consent, "%s", consent ? consent : "");
    out->consent_at = sqlite3_column_int64(s, 3);
}

bool sched_contact_read(struct sched_contact_reader *r, const char *msisdn,
                        struct sched_contact *out, char *err, size_t err_size)
{
    sqlite3_stmt *s = r->get;
    memset(out, 0, sizeof *out);
    sqlite3_bind_text(s, 1, msisdn, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        contact_from_row(s, out);
    else
        out->fields = json_object();
    json_object_set_new(out->fields, "phone", json_string(msisdn));
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        snprintf(err, err_size, "database: %s", sqlite3_errmsg(r->db));
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

bool sched_contact_get(struct store *st, const char *msisdn, struct sched_contact *out,
                       char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    struct sched_contact_reader *r = sched_contact_reader_new(st, err, err_size);
    bool ok = r && sched_contact_read(r, msisdn, out, err, err_size);
    sched_contact_reader_free(r);
    return ok;
}

void sched_contact_clear(struct sched_contact *c)
{
    json_decref(c->fields);
    c->fields = NULL;
}

bool sched_contacts_list(struct store *st, int limit,
                         void (*fn)(const struct sched_contact_row *r, void *arg), void *arg,
                         char *err, size_t err_size)
{
    sqlite3 *db = store_handle(st);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT recipient, name, timezone, consent, consent_at, "
                           "attributes, updated_at FROM contacts ORDER BY recipient LIMIT ?1",
                           -1, &s, NULL) != SQLITE_OK) {
        snprintf(err, err_size, "database: %s", sqlite3_errmsg(db));
        return false;
    }
    sqlite3_bind_int(s, 1, limit > 0 ? limit : -1);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct sched_contact_row r = {
            .msisdn = (const char *)sqlite3_column_text(s, 0),
            .name = (const char *)sqlite3_column_text(s, 1),
            .timezone = (const char *)sqlite3_column_text(s, 2),
            .consent = (const char *)sqlite3_column_text(s, 3),
            .consent_at = sqlite3_column_int64(s, 4),
            .attributes = (const char *)sqlite3_column_text(s, 5),
            .updated_at = sqlite3_column_int64(s, 6),
        };
        fn(&r, arg);
    }
    if (rc != SQLITE_DONE)
        snprintf(err, err_size, "database: %s", sqlite3_errmsg(db));
    sqlite3_finalize(s);
    return rc == SQLITE_DONE;
}
