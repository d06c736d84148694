/* `homing run`: parse the service's options and hand over to service_run(). */
#include <getopt.h>
#include <stdlib.h>

#include "gateway/cli.h"
#include "gateway/clock.h"
#include "gateway/commands.h"
#include "gateway/service.h"

int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "time-scale", required_argument, NULL, 's' },
        { "start-at", required_argument, NULL, 'a' },
        { NULL, 0, NULL, 0 },
    };
    struct service_options so = { .config_path = cli_default_config() };
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            so.config_path = optarg;
            break;
        case 's':
            so.time_scale = strtod(optarg, &end);
            if (*end || so.time_scale < 1 || so.time_scale > 1e7)
                return cli_usage("run", "--time-scale wants a number from 1 to 10000000, "
                                 "not '%s'", optarg);
            break;
        case 'a':
            if (!clock_parse_iso8601(optarg, &so.start_at))
                return cli_usage("run", "--start-at wants an ISO 8601 time like "
                                 "2026-01-05T09:00:00+00:00, not '%s'", optarg);
            break;
        default:
            return cli_usage("run", "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage("run", "unexpected argument '%s'", argv[optind]);
    if (so.start_at && so.time_scale == 0)
        return cli_usage("run", "--start-at needs --time-scale");
    return service_run(&so);
}
