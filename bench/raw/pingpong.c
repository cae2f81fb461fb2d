/* Raw loopback TCP ping-pong: the latency floor under zmio and libzmq.
 *
 *   pingpong server <port> <size> <roundtrip-count>   listen, echo size-byte messages
 *   pingpong client <port> <size> <roundtrip-count>   connect, send and await each echo
 *
 * Both ends set TCP_NODELAY. The client times all round trips and prints the
 * one-way latency, elapsed / (2 x roundtrips), like remote_lat:
 *   message size: N [B]
 *   roundtrip count: N
 *   average latency: X.XXX [us]
 */
#include "net.h"

int main(int argc, char **argv)
{
    const char *usage = "usage: pingpong server|client <port> <size> <roundtrip-count>";
    if (argc != 5 || (strcmp(argv[1], "server") != 0 && strcmp(argv[1], "client") != 0)) {
        fprintf(stderr, "%s\n", usage);
        return 1;
    }
    unsigned long port = parse_count(argv[2], usage);
    size_t size = parse_count(argv[3], usage);
    unsigned long roundtrips = parse_count(argv[4], usage);
    if (size == 0 || roundtrips == 0) {
        fprintf(stderr, "%s (size and roundtrip-count must be at least 1)\n", usage);
        return 1;
    }
    char *buf = calloc(1, size);
    if (!buf)
        fail("calloc");

    if (strcmp(argv[1], "server") == 0) {
        int fd = accept_one(port);
        set_nodelay(fd);
        for (unsigned long i = 0; i < roundtrips; i++) {
            read_all(fd, buf, size);
            write_all(fd, buf, size);
        }
        close(fd);
        return 0;
    }

    int fd = connect_to(port);
    set_nodelay(fd);
    double start = now_us();
    for (unsigned long i = 0; i < roundtrips; i++) {
        write_all(fd, buf, size);
        read_all(fd, buf, size);
    }
    double elapsed = now_us() - start;
    printf("message size: %zu [B]\n", size);
    printf("roundtrip count: %lu\n", roundtrips);
    printf("average latency: %.3f [us]\n", elapsed / (2.0 * (double)roundtrips));
    close(fd);
    return 0;
}
