/*
 * testutil: what every Check test program shares.
 *
 * Each tests/unit/test_*.c and tests/integration/test_*.c is its own program:
 *
 *   static Suite *suite(void) { ... }
 *   int main(void) { return testutil_run(suite()); }
 *
 * tests/run executes them all and adds up Check's summary lines.
 */
#ifndef HOMING_TESTUTIL_H
#define HOMING_TESTUTIL_H

#include <check.h>
#include <stddef.h>

/* Runs the suite (forking each test), prints Check's summary, returns the exit code. */
int testutil_run(Suite *suite);

/* A fresh empty directory under $TMPDIR for this test; the path is static storage. */
const char *testutil_tmpdir(void);

/* Writes `text` to dir/name and returns the full path (static storage, one slot per call site is not kept: copy it). */
const char *testutil_write_file(const char *dir, const char *name, const char *text);

/* Path of a built program (homing, modem-sim, smsc-sim) in the sanitized tree: $BUILD/test/NAME. */
const char *testutil_program(const char *name);

#include <stdbool.h>
#include <sys/types.h>

/*
 * Runs argv (argv[0] a path) to completion, at most `timeout_ms`; captures
 * stdout and stderr into malloc'd strings (either pointer may be NULL).
 * Returns the exit status, or -1 if it was killed or could not run.
 */
int testutil_exec(const char *const argv[], const char *stdin_text, int timeout_ms,
                  char **out, char **err);

/* Starts argv in the background with stdout and stderr appended to `log_path`. */
pid_t testutil_spawn(const char *const argv[], const char *log_path);
/* Waits until the file contains `needle` (true) or `timeout_ms` passes (false). */
bool testutil_wait_for_text(const char *path, const char *needle, int timeout_ms);
/* Waits for the child to exit; returns its exit status, or -1 on timeout or a signal. */
int testutil_wait_exit(pid_t pid, int timeout_ms);
/* Reads a whole file into a malloc'd string, or NULL. */
char *testutil_read_file(const char *path);

#endif
