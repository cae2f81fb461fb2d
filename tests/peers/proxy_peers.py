#!/usr/bin/env python3
"""libzmq (pyzmq) parts of a request-reply broker, for tests/proxy.rs.

    proxy_peers.py broker
        binds a ROUTER and a DEALER on loopback ports, prints
        "ready <frontend> <backend>" and runs zmq.proxy(ROUTER, DEALER)
        until killed (or stdin closes).
    proxy_peers.py workers ENDPOINT COUNT
        COUNT REP workers connect to ENDPOINT and answer each request
        "<body>" with "<body>:<worker number>" until stdin closes.
    proxy_peers.py clients ENDPOINT COUNT REQUESTS
        COUNT REQ clients connect to ENDPOINT; each sends REQUESTS requests
        "c<client>-<n>" and checks every reply starts with its request.
        Prints "ok <replies> <workers seen>" and exits 0, or fails.

Every receive has a timeout, so a broken broker fails the test instead of
hanging it.
"""

import os
import sys
import threading

import zmq

TIMEOUT_MS = 10000


def exit_when_stdin_closes():
    """The test closes our stdin (or dies) when it is done with us."""
    sys.stdin.read()
    os._exit(0)


def broker():
    ctx = zmq.Context()
    frontend = ctx.socket(zmq.ROUTER)
    backend = ctx.socket(zmq.DEALER)
    front_port = frontend.bind_to_random_port("tcp://127.0.0.1")
    back_port = backend.bind_to_random_port("tcp://127.0.0.1")
    print(f"ready tcp://127.0.0.1:{front_port} tcp://127.0.0.1:{back_port}", flush=True)
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    zmq.proxy(frontend, backend)


def workers(endpoint, count):
    ctx = zmq.Context()

    def work(n):
        rep = ctx.socket(zmq.REP)
        rep.connect(endpoint)
        while True:
            request = rep.recv_multipart()
            rep.send_multipart(request[:-1] + [request[-1] + b":" + str(n).encode()])

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(count)]
    for t in threads:
        t.start()
    print("ready", flush=True)
    exit_when_stdin_closes()


def clients(endpoint, count, requests):
    ctx = zmq.Context()
    results = []
    lock = threading.Lock()

    def client(c):
        req = ctx.socket(zmq.REQ)
        req.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
        req.setsockopt(zmq.LINGER, 0)
        req.connect(endpoint)
        seen = set()
        for n in range(requests):
            body = f"c{c}-{n}".encode()
            req.send(body)
            reply = req.recv()
            if not reply.startswith(body + b":"):
                raise SystemExit(f"client {c}: reply {reply!r} to {body!r}")
            seen.add(reply.split(b":")[-1])
        with lock:
            results.append((requests, seen))
        req.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if len(results) != count:
        sys.exit(f"only {len(results)} of {count} clients finished")
    replies = sum(r for r, _ in results)
    workers_seen = set().union(*(s for _, s in results))
    print(f"ok {replies} {len(workers_seen)}", flush=True)
    ctx.term()


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "broker":
        broker()
    elif mode == "workers":
        workers(args[0], int(args[1]))
    elif mode == "clients":
        clients(args[0], int(args[1]), int(args[2]))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
