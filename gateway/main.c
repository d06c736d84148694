/* homing: one binary for the service and its control commands (see gateway/cli.c). */
#include "gateway/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
