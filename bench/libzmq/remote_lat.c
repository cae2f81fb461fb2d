/* libzmq latency client: REQ connected to <connect-to>, <roundtrip-count>
 * request/reply round trips of <message-size> bytes; prints the one-way
 * latency, elapsed / (2 x roundtrips), in the format of zmio's
 * examples/remote_lat.rs. */
#include <string.h>
#include <zmq.h>
#include "common.h"

int main(int argc, char **argv)
{
    const char *usage = "usage: remote_lat <connect-to> <message-size> <roundtrip-count>";
    if (argc != 4) {
        fprintf(stderr, "%s\n", usage);
        return 1;
    }
    size_t size = parse_count(argv[2], usage);
    unsigned long roundtrips = parse_count(argv[3], usage);
    if (roundtrips == 0) {
        fprintf(stderr, "%s (roundtrip-count must be at least 1)\n", usage);
        return 1;
    }

    void *ctx = zmq_ctx_new();
    if (!ctx)
        die("zmq_ctx_new");
    void *req = zmq_socket(ctx, ZMQ_REQ);
    if (!req)
        die("zmq_socket");
    if (zmq_connect(req, argv[1]) != 0)
        die("zmq_connect");

    zmq_msg_t msg;
    if (zmq_msg_init_size(&msg, size) != 0)
        die("zmq_msg_init_size");
    memset(zmq_msg_data(&msg), 0, size);

    double start = now_us();
    for (unsigned long i = 0; i < roundtrips; i++) {
        if (zmq_msg_send(&msg, req, 0) < 0)
            die("zmq_msg_send");
        if (zmq_msg_recv(&msg, req, 0) < 0)
            die("zmq_msg_recv");
        if (zmq_msg_size(&msg) != size) {
            fprintf(stderr, "message of incorrect size received: %zu B, expected %zu B\n",
                    zmq_msg_size(&msg), size);
            return 1;
        }
    }
    double elapsed = now_us() - start;
    zmq_msg_close(&msg);

    printf("message size: %zu [B]\n", size);
    printf("roundtrip count: %lu\n", roundtrips);
    printf("average latency: %.3f [us]\n", elapsed / (2.0 * (double)roundtrips));

    zmq_close(req);
    zmq_ctx_term(ctx);
    return 0;
}
