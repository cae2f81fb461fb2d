/* libzmq inproc latency: a REQ on the main thread and a REP on another
 * bounce a <message-size> byte message <roundtrip-count> times over
 * inproc://; prints half the mean round trip as zmio's
 * examples/inproc_lat.rs does. Written for zmio. */
#include <pthread.h>
#include <zmq.h>
#include "common.h"

struct job {
    void *rep;
    unsigned long count;
};

static void *echo(void *arg)
{
    struct job *job = arg;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    for (unsigned long i = 0; i < job->count; i++) {
        if (zmq_msg_recv(&msg, job->rep, 0) < 0)
            die("zmq_msg_recv");
        if (zmq_msg_send(&msg, job->rep, 0) < 0)
            die("zmq_msg_send");
    }
    zmq_msg_close(&msg);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *usage = "usage: inproc_lat <message-size> <roundtrip-count>";
    if (argc != 3) {
        fprintf(stderr, "%s\n", usage);
        return 1;
    }
    size_t size = parse_count(argv[1], usage);
    unsigned long count = parse_count(argv[2], usage);
    if (count == 0) {
        fprintf(stderr, "%s (roundtrip-count must be at least 1)\n", usage);
        return 1;
    }
    void *ctx = zmq_ctx_new();
    if (!ctx)
        die("zmq_ctx_new");
    struct job job = {zmq_socket(ctx, ZMQ_REP), count};
    if (!job.rep || zmq_bind(job.rep, "inproc://lat_test") != 0)
        die("rep");
    void *req = zmq_socket(ctx, ZMQ_REQ);
    if (!req || zmq_connect(req, "inproc://lat_test") != 0)
        die("req");
    pthread_t thread;
    if (pthread_create(&thread, NULL, echo, &job) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }
    zmq_msg_t msg;
    double start = now_us();
    for (unsigned long i = 0; i < count; i++) {
        if (zmq_msg_init_size(&msg, size) != 0)
            die("zmq_msg_init_size");
        if (zmq_msg_send(&msg, req, 0) < 0)
            die("zmq_msg_send");
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, req, 0) < 0)
            die("zmq_msg_recv");
        if (zmq_msg_size(&msg) != size) {
            fprintf(stderr, "message of incorrect size received\n");
            return 1;
        }
        zmq_msg_close(&msg);
    }
    double elapsed = now_us() - start;
    pthread_join(thread, NULL);
    printf("message size: %zu [B]\n", size);
    printf("roundtrip count: %lu\n", count);
    printf("average latency: %.3f [us]\n", elapsed / ((double)count * 2));
    zmq_close(req);
    zmq_close(job.rep);
    zmq_ctx_term(ctx);
    return 0;
}
