#!/usr/bin/env python3
"""libzmq peers (through pyzmq) for the re-routing loss test of
tests/reliability.rs: paced PULL readers, and the libzmq PUSH the zmio PUSH
is compared with.

  reroute_peers.py pull ENDPOINT RATE LOG
      A PULL that connects to ENDPOINT, prints `connected`, then receives at
      most RATE messages per second, appending each message's id (its first
      8 bytes) to the file LOG as it is received (unbuffered, so a reader
      killed by SIGKILL has logged all it took). Exits 0 after 2 s without a
      message once one has come.

  reroute_peers.py push COUNT SIZE PEERS KILL_AT
      A PUSH bound on tcp://127.0.0.1:* that prints `bound ENDPOINT`, waits
      for PEERS handshakes, sends COUNT messages of SIZE bytes (the id first,
      as %08d), and after KILL_AT of them prints `kill` and waits for a line
      on stdin (the test kills a reader meanwhile). Then it closes with a
      linger of 10 s and prints `done`.

An alarm ends either after 60 s whatever happens.
"""

import os
import signal
import sys
import time

import zmq


def pull(endpoint, rate, log):
    ctx = zmq.Context()
    s = ctx.socket(zmq.PULL)
    s.connect(endpoint)
    print("connected", flush=True)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    got = 0
    start = None
    while True:
        if s.poll(2000 if got else 30000) == 0:
            break
        msg = s.recv()
        os.write(fd, msg[:8] + b"\n")
        got += 1
        if start is None:
            start = time.monotonic()
        # Paced: never ahead of RATE messages per second.
        if got % 50 == 0:
            ahead = start + got / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    os.close(fd)
    s.close(0)
    ctx.term()


def push(count, size, peers, kill_at):
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH)
    s.bind("tcp://127.0.0.1:*")
    mon = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    print("bound", s.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)
    for _ in range(peers):
        mon.recv_multipart()
    pad = b"x" * max(0, size - 8)
    for i in range(count):
        if i == kill_at:
            print("kill", flush=True)
            sys.stdin.readline()
        s.send(b"%08d" % i + pad)
    s.setsockopt(zmq.LINGER, 10000)
    s.disable_monitor()
    mon.close(0)
    s.close()
    ctx.term()
    print("done", flush=True)


def main():
    signal.alarm(60)
    role = sys.argv[1]
    if role == "pull":
        pull(sys.argv[2], float(sys.argv[3]), sys.argv[4])
    elif role == "push":
        push(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit("unknown role " + role)


if __name__ == "__main__":
    main()
