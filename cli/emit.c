/* emit.c - trail emit (being written). */
#include "cli.h"

int cmd_emit(int argc, char **argv)
{
    (void)argc;
    return cli_fail(argv[0], "not built yet");
}
