/* Shared helpers for the libzmq peers of scripts/bench-vs-libzmq (argument
 * parsing and the clock come from ../args.h). Written for zmio; not
 * libzmq's perf code. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include "../args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <zmq.h>

/* Reports a failed libzmq call and exits 1. */
static inline void die(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, zmq_strerror(zmq_errno()));
    exit(1);
}

#endif
