/*
 * `homing config check|reference`: check a file the way `homing run` would,
 * listing every error at once, or print the generated key reference.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config/conf.h"
#include "gateway/cli.h"
#include "gateway/commands.h"

static int config_check(const char *path)
{
    struct conf_errors errs = { 0 };
    struct conf *conf = conf_load(path, &errs);
    for (size_t i = 0; i < errs.n; i++)
        printf("%s\n", errs.lines[i]);
    if (conf)
        printf("ok\n");
    else
        fprintf(stderr, "homing config: %zu error%s in %s\n", errs.n, errs.n == 1 ? "" : "s",
                path);
    conf_errors_free(&errs);
    int rc = conf ? CLI_OK : CLI_USAGE;
    conf_free(conf);
    return rc;
}

int cmd_config(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { NULL, 0, NULL, 0 },
    };
    const char *path = cli_default_config();
    int c;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c == 'c')
            path = optarg;
        else
            return cli_usage("config", "unknown option");
    }
    if (optind >= argc)
        return cli_usage("config", "say what to do: check or reference");
    const char *what = argv[optind];
    if (optind + 1 < argc)
        return cli_usage("config", "unexpected argument '%s'", argv[optind + 1]);
    if (strcmp(what, "check") == 0)
        return config_check(path);
    if (strcmp(what, "reference") == 0) {
        conf_print_reference(stdout);
        return CLI_OK;
    }
    return cli_usage("config", "no subcommand '%s' (check or reference)", what);
}
