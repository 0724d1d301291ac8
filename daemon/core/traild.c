/*
 * traild.c - the running daemon's state (traild.h), one per process, shared
 * by every part of traild. main() fills it as it starts.
 */
#include "core/traild.h"

struct traild traild = {.cp_lock = PTHREAD_MUTEX_INITIALIZER};
