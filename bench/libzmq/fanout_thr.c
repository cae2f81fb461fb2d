/* libzmq scale test, fan-out: one PUB to <subscribers> SUBs over TCP, total
 * delivery rate. Same contract and output as zmio's examples/fanout_thr.rs:
 *
 *     fanout_thr <bind-to> <subscribers> <message-size> <message-count>
 *
 * One process, two contexts of one I/O thread each (publisher side and
 * subscriber side). One thread per SUB socket, blocking receives with a 10 s
 * timeout. The publisher sends a warm-up message (two frames, "" and "w")
 * every 10 ms until every subscriber has reported one, takes the time,
 * publishes <message-count> single-frame messages of <message-size> bytes,
 * then an end marker ("" and "e") every 100 ms until every subscriber has
 * reported it. A subscriber takes the time when the end marker arrives. The
 * rate is the data messages delivered, summed over the subscribers, over the
 * time from the first send to the last end marker. Both HWMs are 0 (no
 * limit), so PUB drops nothing. Written for zmio; not libzmq's perf code. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <zmq.h>
#include "common.h"

#define TIMEOUT_MS 10000
#define JOIN_TIMEOUT_US 30e6

/* What the subscribers tell the publisher, under `lock`. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    unsigned long joined, done;
    uint64_t delivered;
    double last_us;
} reports = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0};

static void *sub_ctx;
static char endpoint[256];
static size_t size;

static void *subscriber(void *arg)
{
    (void)arg;
    void *sub = zmq_socket(sub_ctx, ZMQ_SUB);
    if (!sub)
        die("zmq_socket");
    int zero = 0, timeout = TIMEOUT_MS;
    if (zmq_setsockopt(sub, ZMQ_RCVHWM, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(sub, ZMQ_RCVTIMEO, &timeout, sizeof timeout) != 0)
        die("zmq_setsockopt");
    if (zmq_connect(sub, endpoint) != 0)
        die("zmq_connect");
    if (zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0) != 0)
        die("zmq_setsockopt(ZMQ_SUBSCRIBE)");

    int joined = 0;
    uint64_t delivered = 0;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    for (;;) {
        if (zmq_msg_recv(&msg, sub, 0) < 0)
            die("subscriber: zmq_msg_recv");
        if (!zmq_msg_more(&msg)) {
            if (zmq_msg_size(&msg) != size) {
                fprintf(stderr, "message of incorrect size received: %zu B, expected %zu B\n",
                        zmq_msg_size(&msg), size);
                exit(1);
            }
            delivered++;
            continue;
        }
        /* A control message: its second frame says which. */
        if (zmq_msg_recv(&msg, sub, 0) < 0)
            die("subscriber: zmq_msg_recv");
        char kind = zmq_msg_size(&msg) == 1 ? *(char *)zmq_msg_data(&msg) : 0;
        if (kind == 'w' && !joined) {
            joined = 1;
            pthread_mutex_lock(&reports.lock);
            reports.joined++;
            pthread_cond_signal(&reports.changed);
            pthread_mutex_unlock(&reports.lock);
        } else if (kind == 'e') {
            double at = now_us();
            pthread_mutex_lock(&reports.lock);
            reports.done++;
            reports.delivered += delivered;
            if (at > reports.last_us)
                reports.last_us = at;
            pthread_cond_signal(&reports.changed);
            pthread_mutex_unlock(&reports.lock);
            break;
        }
    }
    zmq_msg_close(&msg);
    zmq_close(sub);
    return NULL;
}

/* Waits on reports.changed (lock held) until `us` from now at the latest. */
static void wait_for_report(double us)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long ns = (long long)ts.tv_nsec + (long long)(us * 1e3);
    ts.tv_sec += ns / 1000000000LL;
    ts.tv_nsec = ns % 1000000000LL;
    pthread_cond_timedwait(&reports.changed, &reports.lock, &ts);
}

static void send_control(void *pub, const char *kind)
{
    if (zmq_send(pub, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(pub, kind, 1, 0) < 0)
        die("zmq_send");
}

int main(int argc, char **argv)
{
    const char *usage = "usage: fanout_thr <bind-to> <subscribers> <message-size> <message-count>";
    if (argc != 5) {
        fprintf(stderr, "%s\n", usage);
        return 1;
    }
    unsigned long subscribers = parse_count(argv[2], usage);
    size = parse_count(argv[3], usage);
    unsigned long count = parse_count(argv[4], usage);
    if (subscribers == 0) {
        fprintf(stderr, "%s (subscribers must be at least 1)\n", usage);
        return 1;
    }

    /* The condition variable runs on the monotonic clock, as now_us does. */
    pthread_condattr_t cattr;
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&reports.changed, &cattr);

    void *pub_ctx = zmq_ctx_new();
    sub_ctx = zmq_ctx_new();
    if (!pub_ctx || !sub_ctx)
        die("zmq_ctx_new");
    void *pub = zmq_socket(pub_ctx, ZMQ_PUB);
    if (!pub)
        die("zmq_socket");
    int zero = 0;
    if (zmq_setsockopt(pub, ZMQ_SNDHWM, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(pub, ZMQ_LINGER, &zero, sizeof zero) != 0)
        die("zmq_setsockopt");
    if (zmq_bind(pub, argv[1]) != 0)
        die("zmq_bind");
    size_t len = sizeof endpoint;
    if (zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, endpoint, &len) != 0)
        die("zmq_getsockopt(ZMQ_LAST_ENDPOINT)");

    pthread_t *threads = calloc(subscribers, sizeof *threads);
    pthread_attr_t tattr;
    pthread_attr_init(&tattr);
    pthread_attr_setstacksize(&tattr, 256 * 1024);
    for (unsigned long i = 0; i < subscribers; i++)
        if (pthread_create(&threads[i], &tattr, subscriber, NULL) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }

    /* 1. Join: warm up until every subscription is in place. */
    double deadline = now_us() + JOIN_TIMEOUT_US;
    pthread_mutex_lock(&reports.lock);
    while (reports.joined < subscribers) {
        if (now_us() > deadline) {
            fprintf(stderr, "fanout_thr: only %lu of %lu subscribers joined\n", reports.joined,
                    subscribers);
            exit(1);
        }
        pthread_mutex_unlock(&reports.lock);
        send_control(pub, "w");
        pthread_mutex_lock(&reports.lock);
        wait_for_report(10e3);
    }
    pthread_mutex_unlock(&reports.lock);

    /* 2. The measured burst. */
    zmq_msg_t msg;
    double start = now_us();
    for (unsigned long i = 0; i < count; i++) {
        if (zmq_msg_init_size(&msg, size) != 0)
            die("zmq_msg_init_size");
        if (zmq_msg_send(&msg, pub, 0) < 0)
            die("zmq_msg_send");
    }

    /* 3. The end marker, until every subscriber has seen it. */
    pthread_mutex_lock(&reports.lock);
    unsigned long seen = 0;
    double progress = now_us();
    while (reports.done < subscribers) {
        if (reports.done != seen) {
            seen = reports.done;
            progress = now_us();
        } else if (now_us() - progress > TIMEOUT_MS * 1e3) {
            fprintf(stderr, "fanout_thr: only %lu of %lu subscribers saw the end within %d ms\n",
                    reports.done, subscribers, TIMEOUT_MS);
            exit(1);
        }
        pthread_mutex_unlock(&reports.lock);
        send_control(pub, "e");
        pthread_mutex_lock(&reports.lock);
        wait_for_report(100e3);
    }
    pthread_mutex_unlock(&reports.lock);
    for (unsigned long i = 0; i < subscribers; i++)
        pthread_join(threads[i], NULL);

    /* Whole microseconds, at least one, as local_thr computes it. */
    double elapsed = (double)(uint64_t)(reports.last_us - start);
    if (elapsed < 1)
        elapsed = 1;
    uint64_t delivered = reports.delivered;
    unsigned long throughput = (unsigned long)((double)delivered / elapsed * 1e6);
    double megabits = (double)throughput * (double)size * 8 / 1e6;
    printf("subscribers: %lu\n", subscribers);
    printf("message size: %zu [B]\n", size);
    printf("message count: %lu\n", count);
    printf("delivered: %llu of %llu [msg]\n", (unsigned long long)delivered,
           (unsigned long long)subscribers * count);
    printf("mean throughput: %lu [msg/s]\n", throughput);
    printf("mean throughput: %.3f [Mb/s]\n", megabits);

    free(threads);
    zmq_close(pub);
    zmq_ctx_term(sub_ctx);
    zmq_ctx_term(pub_ctx);
    return 0;
}
