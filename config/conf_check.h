/*
 * conf_check: checks that span keys (names unique, routes naming real modems
 * and binds, a known country ...). Internal to config/: conf.c runs it after
 * every key has been read, with the loader so each error can name its line.
 */
#ifndef HOMING_CONF_CHECK_H
#define HOMING_CONF_CHECK_H

#include "config/conf.h"

struct conf_loader {
    const char *file;
    struct conf_errors *errs;
    struct { char *path; int line; } *lines; /* key path -> line in the file */
    size_t n_lines, cap_lines;
};

/* Appends "file:line: path: message" (line looked up by path; omitted if unknown). */
void conf_loader_error(struct conf_loader *ld, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The line of a key path such as "routes[1].via[0]", or 0. */
int conf_loader_line(const struct conf_loader *ld, const char *path);

void conf_check(struct conf_loader *ld, const struct conf *conf);
/* Gives campaigns that set no quiet_hours / frequency_cap of their own the global ones. */
void conf_inherit_campaign_limits(struct conf *conf);

#endif
