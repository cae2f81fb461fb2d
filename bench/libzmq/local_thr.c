/* libzmq throughput receiver: PULL bound to <bind-to>, counts <message-count>
 * messages of <message-size> bytes, timed from the first to the last, and
 * prints the same four lines as zmio's examples/local_thr.rs. */
#include <zmq.h>
#include "common.h"

int main(int argc, char **argv)
{
    const char *usage = "usage: local_thr <bind-to> <message-size> <message-count>";
    if (argc != 4) {
        fprintf(stderr, "%s\n", usage);
        return 1;
    }
    size_t size = parse_count(argv[2], usage);
    unsigned long count = parse_count(argv[3], usage);
    if (count == 0) {
        fprintf(stderr, "%s (message-count must be at least 1)\n", usage);
        return 1;
    }

    void *ctx = zmq_ctx_new();
    if (!ctx)
        die("zmq_ctx_new");
    void *pull = zmq_socket(ctx, ZMQ_PULL);
    if (!pull)
        die("zmq_socket");
    if (zmq_bind(pull, argv[1]) != 0)
        die("zmq_bind");

    zmq_msg_t msg;
    zmq_msg_init(&msg);
    double start = 0;
    for (unsigned long i = 0; i < count; i++) {
        if (zmq_msg_recv(&msg, pull, 0) < 0)
            die("zmq_msg_recv");
        if (zmq_msg_size(&msg) != size) {
            fprintf(stderr, "message of incorrect size received: %zu B, expected %zu B\n",
                    zmq_msg_size(&msg), size);
            return 1;
        }
        if (i == 0)
            start = now_us();
    }
    double elapsed = now_us() - start;
    zmq_msg_close(&msg);
    if (elapsed < 1)
        elapsed = 1;

    unsigned long throughput = (unsigned long)((double)count / elapsed * 1e6);
    double megabits = (double)throughput * (double)size * 8 / 1e6;
    printf("message size: %zu [B]\n", size);
    printf("message count: %lu\n", count);
    printf("mean throughput: %lu [msg/s]\n", throughput);
    printf("mean throughput: %.3f [Mb/s]\n", megabits);

    zmq_close(pull);
    zmq_ctx_term(ctx);
    return 0;
}
