/* Loopback TCP helpers for the raw ceilings of scripts/bench-vs-libzmq. */
#ifndef BENCH_NET_H
#define BENCH_NET_H

#include "../args.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static inline void fail(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, strerror(errno));
    exit(1);
}

static inline struct sockaddr_in loopback(unsigned long port)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

/* Listens on 127.0.0.1:port and returns the first accepted connection. */
static inline int accept_one(unsigned long port)
{
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0)
        fail("socket");
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = loopback(port);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0)
        fail("bind");
    if (listen(listener, 1) != 0)
        fail("listen");
    int conn = accept(listener, NULL, NULL);
    if (conn < 0)
        fail("accept");
    close(listener);
    return conn;
}

/* Connects to 127.0.0.1:port, retrying for up to 5 s while nothing listens. */
static inline int connect_to(unsigned long port)
{
    struct sockaddr_in addr = loopback(port);
    for (int attempt = 0;; attempt++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            fail("socket");
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0)
            return fd;
        if (errno != ECONNREFUSED || attempt >= 500)
            fail("connect");
        close(fd);
        usleep(10000);
    }
}

static inline void set_nodelay(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        fail("setsockopt(TCP_NODELAY)");
}

/* Writes all of buf, or exits. */
static inline void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail("write");
        }
        buf += n;
        len -= (size_t)n;
    }
}

/* Reads exactly len bytes into buf, or exits (also on a premature EOF). */
static inline void read_all(int fd, char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = read(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail("read");
        }
        if (n == 0) {
            fprintf(stderr, "read: peer closed early\n");
            exit(1);
        }
        buf += n;
        len -= (size_t)n;
    }
}

#endif
