/*
 * sched_contacts: the people campaigns write to (table contacts).
 *
 * An import reads a CSV file with a header row: phone (or msisdn), name,
 * timezone, consent (yes/no, true/false, 1/0, or the date it was given) and
 * consent_at are columns of their own; any other column is kept as an
 * attribute (contacts.attributes, a JSON object) for templates. Numbers are
 * normalised to E.164. A row that is wrong is reported with its line and
 * skipped; the others are committed, many per transaction (an import is
 * bound by the disk's fsyncs otherwise). A contact imported again is
 * updated: a non-empty cell replaces the old value, an empty one keeps it,
 * attributes are merged.
 *
 * contacts.consent is 'yes' or 'no' (NULL: never said); consent_at is when
 * it was given (the date in the file, else the import's time).
 */
#ifndef HOMING_SCHED_CONTACTS_H
#define HOMING_SCHED_CONTACTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

struct sched_import {
    const char *country;         /* defaults.country, for national numbers */
    int64_t now;                 /* created_at / updated_at, and consent_at when the file has none */
    size_t batch;                /* rows per transaction; 0: 10,000 */
    /* A skipped row: `line` of the file and why. */
    void (*bad_row)(long line, const char *why, void *arg);
    /* Called every few thousand rows: bytes read of total, rows so far. */
    void (*progress)(size_t done, size_t total, long rows, void *arg);
    void *arg;
    long imported, skipped;      /* out */
};

/*
 * Imports `path`. False, with the reason in err, when the file cannot be
 * read, has no header or no phone column, or the database fails (batches
 * already committed stay; imp->imported counts them).
 */
bool sched_contacts_import(struct store *st, const char *path, struct sched_import *imp,
                           char *err, size_t err_size);

/* One contact as templates and consent checks see it. */
struct sched_contact {
    bool found;
    char consent[8];             /* "yes", "no", or "" when never said */
    int64_t consent_at;          /* 0: unknown */
    /* name, phone, timezone (when set) and every attribute: the fields of
       sched_render(). Owned: released by sched_contact_clear(). */
    json_t *fields;
    char timezone[64];
};

/* Reads `msisdn` (E.164); out->found false when there is no such contact. */
bool sched_contact_get(struct store *st, const char *msisdn, struct sched_contact *out,
                       char *err, size_t err_size);
void sched_contact_clear(struct sched_contact *c);

/* The same for many contacts, with the statement prepared once. */
struct sched_contact_reader;
struct sched_contact_reader *sched_contact_reader_new(struct store *st, char *err,
                                                      size_t err_size);
bool sched_contact_read(struct sched_contact_reader *r, const char *msisdn,
                        struct sched_contact *out, char *err, size_t err_size);
void sched_contact_reader_free(struct sched_contact_reader *r);

/* A contact as listed. */
struct sched_contact_row {
    const char *msisdn, *name, *timezone, *consent, *attributes;  /* NULL when unset */
    int64_t consent_at, updated_at;
};

/* Contacts in number order, at most `limit` (0: all). */
bool sched_contacts_list(struct store *st, int limit,
                         void (*fn)(const struct sched_contact_row *r, void *arg), void *arg,
                         char *err, size_t err_size);

#endif
