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

#endif
