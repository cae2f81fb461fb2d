/* libzmq latency echo: REP bound to <bind-to>, <roundtrip-count> times
 * receives a <message-size>-byte request and sends the same message back. */
#include <zmq.h>
#include "common.h"

int main(int argc, char **argv)
{
    const char *usage = "usage: local_lat <bind-to> <message-size> <roundtrip-count>";
    if (argc != 4) {
        fprintf(stderr, "%s\n", usage);
        return 1;
    }
    size_t size = parse_count(argv[2], usage);
    unsigned long roundtrips = parse_count(argv[3], usage);

    void *ctx = zmq_ctx_new();
    if (!ctx)
        die("zmq_ctx_new");
    void *rep = zmq_socket(ctx, ZMQ_REP);
    if (!rep)
        die("zmq_socket");
    if (zmq_bind(rep, argv[1]) != 0)
        die("zmq_bind");

    zmq_msg_t msg;
    zmq_msg_init(&msg);
    for (unsigned long i = 0; i < roundtrips; i++) {
        if (zmq_msg_recv(&msg, rep, 0) < 0)
            die("zmq_msg_recv");
        if (zmq_msg_size(&msg) != size) {
            fprintf(stderr, "message of incorrect size received: %zu B, expected %zu B\n",
                    zmq_msg_size(&msg), size);
            return 1;
        }
        /* Sending moves the content out and leaves msg empty for the next recv. */
        if (zmq_msg_send(&msg, rep, 0) < 0)
            die("zmq_msg_send");
    }
    zmq_msg_close(&msg);

    zmq_close(rep);
    zmq_ctx_term(ctx);
    return 0;
}
