/*
 * service: `homing run`. Owns the configuration, the store and the loop for
 * the life of the process.
 *
 * Start-up: load and check the configuration (exit 2 on any error), open the
 * store (exit 1 if it cannot), log what is configured, then run the loop.
 * SIGHUP: reload; an invalid new file is logged line by line and the running
 * configuration kept. SIGTERM/SIGINT: stop after the current callback, so the
 * transaction it was in has committed, then close the database and exit 0.
 */
#ifndef HOMING_SERVICE_H
#define HOMING_SERVICE_H

#include <stdint.h>

struct service_options {
    const char *config_path;
    double time_scale;       /* 0 or 1: real time */
    int64_t start_at;        /* with time_scale: virtual start, Unix seconds; 0: now */
};

/* Runs the service; returns the process exit code. */
int service_run(const struct service_options *opt);

#endif
