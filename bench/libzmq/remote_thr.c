/* libzmq throughput sender: PUSH connected to <connect-to>, sends
 * <message-count> messages of <message-size> bytes, then closes with the
 * default (infinite) linger so that all of them are delivered. */
#include <zmq.h>
#include "common.h"

int main(int argc, char **argv)
{
    const char *usage = "usage: remote_thr <connect-to> <message-size> <message-count>";
    if (argc != 4) {
        fprintf(stderr, "%s\n", usage);
        return 1;
    }
    size_t size = parse_count(argv[2], usage);
    unsigned long count = parse_count(argv[3], usage);

    void *ctx = zmq_ctx_new();
    if (!ctx)
        die("zmq_ctx_new");
    void *push = zmq_socket(ctx, ZMQ_PUSH);
    if (!push)
        die("zmq_socket");
    if (zmq_connect(push, argv[1]) != 0)
        die("zmq_connect");

    zmq_msg_t msg;
    for (unsigned long i = 0; i < count; i++) {
        /* A fresh message each time, as libzmq's own perf tool does; its
         * content is left as allocated (only its size matters here). */
        if (zmq_msg_init_size(&msg, size) != 0)
            die("zmq_msg_init_size");
        if (zmq_msg_send(&msg, push, 0) < 0)
            die("zmq_msg_send");
    }

    zmq_close(push);
    zmq_ctx_term(ctx);
    return 0;
}
