/* libzmq scale test, fan-in: one PULL fed by <pushers> PUSH sockets over TCP.
 * Same contract and output as zmio's examples/fanin_thr.rs:
 *
 *     fanin_thr <bind-to> <pushers> <message-size> <message-count>
 *
 * One process, two contexts of one I/O thread each (puller side and pusher
 * side). The pushers are spread evenly over 4 sending threads. Every pusher first sends one warm-up message; once the puller has
 * all of them it releases the sending threads, which send <message-count>
 * messages of <message-size> bytes on each of their pushers in turn. The
 * puller receives pushers x message-count messages, timed from the first to
 * the last, with a 10 s timeout on every receive, and only then lets the
 * sending threads close their sockets. Default HWMs (1000).
 * Written for zmio; not libzmq's perf code. */
#include <pthread.h>
#include <stdint.h>
#include <zmq.h>
#include "common.h"

#define SENDING_THREADS 4
#define TIMEOUT_MS 10000

static void *push_ctx;
static char endpoint[256];
static size_t size;
static unsigned long count;
static pthread_barrier_t go;

struct sender_args {
    unsigned long pushers;
};

static void send_one(void *push)
{
    zmq_msg_t msg;
    /* A fresh message each time, as libzmq's remote_thr does. */
    if (zmq_msg_init_size(&msg, size) != 0)
        die("zmq_msg_init_size");
    if (zmq_msg_send(&msg, push, 0) < 0)
        die("pusher: zmq_msg_send");
}

static void *sender(void *arg)
{
    unsigned long pushers = ((struct sender_args *)arg)->pushers;
    void **sockets = calloc(pushers, sizeof *sockets);
    int timeout = TIMEOUT_MS;
    for (unsigned long i = 0; i < pushers; i++) {
        sockets[i] = zmq_socket(push_ctx, ZMQ_PUSH);
        if (!sockets[i])
            die("zmq_socket");
        if (zmq_setsockopt(sockets[i], ZMQ_SNDTIMEO, &timeout, sizeof timeout) != 0)
            die("zmq_setsockopt");
        if (zmq_connect(sockets[i], endpoint) != 0)
            die("zmq_connect");
    }
    for (unsigned long i = 0; i < pushers; i++)
        send_one(sockets[i]);
    pthread_barrier_wait(&go);
    for (unsigned long n = 0; n < count; n++)
        for (unsigned long i = 0; i < pushers; i++)
            send_one(sockets[i]);
    /* Everything is delivered once the puller passes this barrier. */
    pthread_barrier_wait(&go);
    for (unsigned long i = 0; i < pushers; i++)
        zmq_close(sockets[i]);
    free(sockets);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *usage = "usage: fanin_thr <bind-to> <pushers> <message-size> <message-count>";
    if (argc != 5) {
        fprintf(stderr, "%s\n", usage);
        return 1;
    }
    unsigned long pushers = parse_count(argv[2], usage);
    size = parse_count(argv[3], usage);
    count = parse_count(argv[4], usage);
    if (pushers == 0 || count == 0) {
        fprintf(stderr, "%s (pushers and message-count must be at least 1)\n", usage);
        return 1;
    }

    void *pull_ctx = zmq_ctx_new();
    push_ctx = zmq_ctx_new();
    if (!pull_ctx || !push_ctx)
        die("zmq_ctx_new");
    void *pull = zmq_socket(pull_ctx, ZMQ_PULL);
    if (!pull)
        die("zmq_socket");
    int timeout = TIMEOUT_MS;
    if (zmq_setsockopt(pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout) != 0)
        die("zmq_setsockopt");
    if (zmq_bind(pull, argv[1]) != 0)
        die("zmq_bind");
    size_t len = sizeof endpoint;
    if (zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, endpoint, &len) != 0)
        die("zmq_getsockopt(ZMQ_LAST_ENDPOINT)");

    unsigned long threads = pushers < SENDING_THREADS ? pushers : SENDING_THREADS;
    pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
    pthread_t tids[SENDING_THREADS];
    struct sender_args args[SENDING_THREADS];
    for (unsigned long t = 0; t < threads; t++) {
        args[t].pushers = pushers / threads + (t < pushers % threads ? 1 : 0);
        if (pthread_create(&tids[t], NULL, sender, &args[t]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }

    zmq_msg_t msg;
    zmq_msg_init(&msg);
    /* 1. Join: one warm-up message from every pusher. */
    for (unsigned long i = 0; i < pushers; i++) {
        if (zmq_msg_recv(&msg, pull, 0) < 0)
            die("zmq_msg_recv");
    }
    pthread_barrier_wait(&go);

    /* 2-3. The measured burst, first message to last. */
    uint64_t total = (uint64_t)pushers * count;
    double start = 0;
    for (uint64_t i = 0; i < total; i++) {
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
    /* Whole microseconds, at least one, as local_thr computes it. */
    double elapsed = (double)(uint64_t)(now_us() - start);
    if (elapsed < 1)
        elapsed = 1;
    zmq_msg_close(&msg);
    pthread_barrier_wait(&go); /* let the senders close */
    for (unsigned long t = 0; t < threads; t++)
        pthread_join(tids[t], NULL);

    unsigned long throughput = (unsigned long)((double)total / elapsed * 1e6);
    double megabits = (double)throughput * (double)size * 8 / 1e6;
    printf("pushers: %lu\n", pushers);
    printf("message size: %zu [B]\n", size);
    printf("message count: %llu\n", (unsigned long long)total);
    printf("mean throughput: %lu [msg/s]\n", throughput);
    printf("mean throughput: %.3f [Mb/s]\n", megabits);

    zmq_close(pull);
    zmq_ctx_term(push_ctx);
    zmq_ctx_term(pull_ctx);
    return 0;
}
