/* events.c - trail events (being written). */
#include "cli.h"

int cmd_events(int argc, char **argv)
{
    (void)argc;
    return cli_fail(argv[0], "not built yet");
}
