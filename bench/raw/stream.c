/* Raw loopback TCP stream: the byte-rate ceiling under zmio and libzmq.
 *
 *   stream recv <port> <write-size> <write-count>   listen, read to EOF, print the rate
 *   stream send <port> <write-size> <write-count>   connect, write write-count x write-size
 *
 * The receiver reads in buffers of write-size bytes and times from its first
 * byte to EOF, printing:
 *   bytes: N
 *   mean throughput: X.XXX [MB/s]
 */
#include "net.h"

int main(int argc, char **argv)
{
    const char *usage = "usage: stream recv|send <port> <write-size> <write-count>";
    if (argc != 5 || (strcmp(argv[1], "recv") != 0 && strcmp(argv[1], "send") != 0)) {
        fprintf(stderr, "%s\n", usage);
        return 1;
    }
    unsigned long port = parse_count(argv[2], usage);
    size_t size = parse_count(argv[3], usage);
    unsigned long count = parse_count(argv[4], usage);
    if (size == 0) {
        fprintf(stderr, "%s (write-size must be at least 1)\n", usage);
        return 1;
    }
    char *buf = calloc(1, size);
    if (!buf)
        fail("calloc");

    if (strcmp(argv[1], "send") == 0) {
        int fd = connect_to(port);
        for (unsigned long i = 0; i < count; i++)
            write_all(fd, buf, size);
        close(fd);
        return 0;
    }

    int fd = accept_one(port);
    unsigned long long total = 0;
    double start = 0;
    for (;;) {
        ssize_t n = read(fd, buf, size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail("read");
        }
        if (n == 0)
            break;
        if (total == 0)
            start = now_us();
        total += (unsigned long long)n;
    }
    double elapsed = now_us() - start;
    if (elapsed < 1)
        elapsed = 1;
    if (total != (unsigned long long)size * count) {
        fprintf(stderr, "received %llu bytes, expected %llu\n", total,
                (unsigned long long)size * count);
        return 1;
    }
    printf("bytes: %llu\n", total);
    printf("mean throughput: %.3f [MB/s]\n", (double)total / elapsed);
    close(fd);
    return 0;
}
