/*
 * cli: the `homing` command line. One binary serves the daemon (`homing run`)
 * and the control tool; cli_main() dispatches on the first word.
 *
 * A command is `int cmd_NAME(int argc, char **argv)` with argv[0] the command
 * name (getopt-ready). It returns one of the exit codes below. Errors go to
 * stderr as one line naming what is wrong, via cli_error()/cli_usage().
 */
#ifndef HOMING_CLI_H
#define HOMING_CLI_H

#include <stdbool.h>
#include <stdio.h>

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Options every command takes: -c FILE, --json, -h/--help. */
struct cli_common {
    const char *config_path; /* from -c, else the default path */
    bool json;
};

struct conf;
struct store;

int cli_main(int argc, char **argv);

/* Loads the configuration, printing every error to stderr; CLI_OK or CLI_USAGE. */
int cli_load_config(const char *cmd, const char *path, struct conf **out);
/* Opens the configured database; CLI_OK or CLI_FAIL with the reason printed. */
int cli_open_store(const char *cmd, const struct conf *conf, struct store **out);
/* Prints a JSON value (a jansson json_t *, taken over and freed) on stdout. */
void cli_print_json(void *json);

/* The default config: config/homing.conf in a source tree, else /etc/homing/homing.conf. */
const char *cli_default_config(void);

/* Prints "homing CMD: <message>" to stderr; returns CLI_FAIL. */
int cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "homing CMD: <message>" and "see 'homing CMD --help'"; returns CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the command's help text (from the command table) to `out`. */
void cli_print_help(const char *cmd, FILE *out);

#endif
