/* What every C benchmark peer shares: argument parsing and a monotonic
 * clock. Written for zmio. */
#ifndef BENCH_ARGS_H
#define BENCH_ARGS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Parses a non-negative whole number or exits 1 with the usage line. */
static inline unsigned long parse_count(const char *text, const char *usage)
{
    char *end = NULL;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-') {
        fprintf(stderr, "%s (`%s` is not a whole number)\n", usage, text);
        exit(1);
    }
    return value;
}

/* Microseconds on the monotonic clock. */
static inline double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

#endif
