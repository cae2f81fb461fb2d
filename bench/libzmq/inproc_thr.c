/* libzmq inproc throughput: a PUSH thread sends <message-count> messages of
 * <message-size> bytes to a PULL on the main thread over inproc://, timed
 * from the first message received to the last (each message allocated with
 * zmq_msg_init_size and not filled, as libzmq's own perf tool does); prints the same four lines
 * as zmio's examples/inproc_thr.rs. Written for zmio. */
#include <pthread.h>
#include <zmq.h>
#include "common.h"

struct job {
    void *ctx;
    size_t size;
    unsigned long count;
};

static void *sender(void *arg)
{
    struct job *job = arg;
    void *push = zmq_socket(job->ctx, ZMQ_PUSH);
    if (!push || zmq_connect(push, "inproc://thr_test") != 0)
        die("push");
    for (unsigned long i = 0; i < job->count; i++) {
        zmq_msg_t msg;
        if (zmq_msg_init_size(&msg, job->size) != 0)
            die("zmq_msg_init_size");
        if (zmq_msg_send(&msg, push, 0) < 0)
            die("zmq_msg_send");
    }
    zmq_close(push);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *usage = "usage: inproc_thr <message-size> <message-count>";
    if (argc != 3) {
        fprintf(stderr, "%s\n", usage);
        return 1;
    }
    struct job job;
    job.size = parse_count(argv[1], usage);
    job.count = parse_count(argv[2], usage);
    if (job.count == 0) {
        fprintf(stderr, "%s (message-count must be at least 1)\n", usage);
        return 1;
    }
    job.ctx = zmq_ctx_new();
    if (!job.ctx)
        die("zmq_ctx_new");
    void *pull = zmq_socket(job.ctx, ZMQ_PULL);
    if (!pull || zmq_bind(pull, "inproc://thr_test") != 0)
        die("pull");
    pthread_t thread;
    if (pthread_create(&thread, NULL, sender, &job) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    double start = 0;
    for (unsigned long i = 0; i < job.count; i++) {
        if (zmq_msg_recv(&msg, pull, 0) < 0)
            die("zmq_msg_recv");
        if (zmq_msg_size(&msg) != job.size) {
            fprintf(stderr, "message of incorrect size received\n");
            return 1;
        }
        if (i == 0)
            start = now_us();
    }
    double elapsed = now_us() - start;
    zmq_msg_close(&msg);
    pthread_join(thread, NULL);
    if (elapsed < 1)
        elapsed = 1;
    unsigned long throughput = (unsigned long)((double)job.count / elapsed * 1e6);
    double megabits = (double)throughput * (double)job.size * 8 / 1e6;
    printf("message size: %zu [B]\n", job.size);
    printf("message count: %lu\n", job.count);
    printf("mean throughput: %lu [msg/s]\n", throughput);
    printf("mean throughput: %.3f [Mb/s]\n", megabits);
    zmq_close(pull);
    zmq_ctx_term(job.ctx);
    return 0;
}
