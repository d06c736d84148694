/*
 * sched_csv: a reader of CSV files as RFC 4180 writes them (and as
 * spreadsheets export them): fields separated by commas, optionally quoted,
 * a quote inside a quoted field doubled, records ended by CRLF or LF (a
 * quoted field may span lines), a UTF-8 byte order mark at the start
 * ignored. Blank lines are skipped.
 *
 * The file is mapped, not read line by line, so a million-row import costs
 * one copy of each field. A malformed record is reported and skipped up to
 * the end of its line; the next record is read normally.
 */
#ifndef HOMING_SCHED_CSV_H
#define HOMING_SCHED_CSV_H

#include <stddef.h>

struct sched_csv;

/* Maps `path`; NULL with the reason in err. */
struct sched_csv *sched_csv_open(const char *path, char *err, size_t err_size);
/* Reads from memory the caller keeps alive until sched_csv_free(). */
struct sched_csv *sched_csv_from_buffer(const char *buf, size_t len);
void sched_csv_free(struct sched_csv *c);

/*
 * The next record: 1 with its fields (valid until the next call), 0 at the
 * end, -1 when the record is malformed (err says why; it was skipped).
 * *line is the line the record starts on, counting from 1.
 */
int sched_csv_next(struct sched_csv *c, const char *const **fields, size_t *n, long *line,
                   char *err, size_t err_size);

/* Bytes read so far and in all, for a progress bar. */
void sched_csv_progress(const struct sched_csv *c, size_t *done, size_t *total);

#endif
