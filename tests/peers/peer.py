#!/usr/bin/env python3
"""A libzmq peer (through pyzmq) driven by the zmio interop tests.

Usage: peer.py TYPE bind|connect ENDPOINT [OPTION VALUE]...

Options: --routing-id HEX, --subscribe HEX (repeatable), --sockopt NAME=INT
(any integer libzmq option, e.g. HEARTBEAT_IVL=50), --monitor 1 (record
socket events for the `events` command).

TYPE is a libzmq socket type name (PUSH, PULL, PUB, SUB, XPUB, REQ, REP,
DEALER, ROUTER, PAIR). After binding the peer prints `bound <endpoint>` (the
endpoint read back with LAST_ENDPOINT, so port `*` works); after connecting
it prints `connected`. Then it reads one JSON command per line on stdin and
answers each with one line on stdout:

  {"op": "send", "frames": [F, ...]}       -> ok
  {"op": "recv", "timeout_ms": N}          -> msg [F, ...]    | timeout
  {"op": "recv_until", "last": F}          -> msgs [[F, ...], ...] (all
        messages received up to and including the first whose first frame is F)
  {"op": "subscribe", "topic": F}          -> ok   (SUB only)
  {"op": "unsubscribe", "topic": F}        -> ok   (SUB only)
  {"op": "send_seq", "count": N}           -> ok   (sends N messages "0", "1", ...)
  {"op": "recv_seq", "count": N}           -> ok | bad <index> <hex of what came>
        (receives N messages and checks they are "0", "1", ... in order)
  {"op": "events"}                         -> events [NAME, ...] (the socket
        events since the last `events`, e.g. "CONNECTED", "DISCONNECTED")
  {"op": "exit"}                           -> bye, then the peer closes and exits 0

A frame F is written "hex:<hex digits>" or, for large frames, "pattern:<len>":
the bytes i % 251 for i in 0..len, which both sides can build and check
without shipping megabytes through a pipe. A received frame that is not
small and does not match the pattern is reported as "mismatch:<len>".

The peer never waits forever: receives time out (10 s unless the command says
otherwise), and an alarm ends the process after 60 s whatever happens, so a
broken test fails instead of hanging. Errors go to stderr with exit code 1.
"""

import json
import signal
import sys
import time

import zmq
from zmq.utils.monitor import recv_monitor_message

RECV_TIMEOUT_MS = 10_000
LIFETIME_S = 60
# Frames up to this size are shipped as hex; bigger ones must be patterns.
HEX_LIMIT = 64 * 1024


def pattern(length):
    block = bytes(range(251))
    return (block * (length // 251 + 1))[:length]


def decode_frame(text):
    kind, _, value = text.partition(":")
    if kind == "hex":
        return bytes.fromhex(value)
    if kind == "pattern":
        return pattern(int(value))
    raise ValueError(f"bad frame spec {text!r}")


def encode_frame(frame):
    if len(frame) <= HEX_LIMIT:
        return "hex:" + frame.hex()
    if frame == pattern(len(frame)):
        return f"pattern:{len(frame)}"
    return f"mismatch:{len(frame)}"


def reply(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def bind_with_retry(sock, endpoint):
    # A fixed port may still be held for a moment by a previous peer's
    # socket (or, rarely, by a reconnecting client that self-connected to
    # it); retry for a bounded time rather than fail at the first EADDRINUSE.
    deadline = time.monotonic() + 5
    while True:
        try:
            sock.bind(endpoint)
            return
        except zmq.ZMQError as err:
            if err.errno != zmq.EADDRINUSE or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main():
    signal.alarm(LIFETIME_S)
    args = sys.argv[1:]
    if len(args) < 3 or args[1] not in ("bind", "connect"):
        sys.exit(__doc__)
    kind, how, endpoint = args[:3]
    ctx = zmq.Context()
    sock = ctx.socket(getattr(zmq, kind))
    sock.setsockopt(zmq.LINGER, 5_000)
    sock.setsockopt(zmq.RCVTIMEO, RECV_TIMEOUT_MS)
    sock.setsockopt(zmq.SNDTIMEO, RECV_TIMEOUT_MS)
    monitor = None
    rest = args[3:]
    while rest:
        flag, value, rest = rest[0], rest[1], rest[2:]
        if flag == "--routing-id":
            sock.setsockopt(zmq.ROUTING_ID, bytes.fromhex(value))
        elif flag == "--subscribe":
            sock.setsockopt(zmq.SUBSCRIBE, bytes.fromhex(value))
        elif flag == "--sockopt":
            name, _, number = value.partition("=")
            sock.setsockopt(getattr(zmq, name), int(number))
        elif flag == "--monitor":
            monitor = sock.get_monitor_socket()
        else:
            sys.exit(f"unknown option {flag}")

    if how == "bind":
        bind_with_retry(sock, endpoint)
        reply("bound " + sock.getsockopt_string(zmq.LAST_ENDPOINT))
    else:
        sock.connect(endpoint)
        reply("connected")

    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "send":
            sock.send_multipart([decode_frame(f) for f in cmd["frames"]])
            reply("ok")
        elif op == "recv":
            sock.setsockopt(zmq.RCVTIMEO, cmd.get("timeout_ms", RECV_TIMEOUT_MS))
            try:
                frames = sock.recv_multipart()
            except zmq.Again:
                reply("timeout")
                continue
            finally:
                sock.setsockopt(zmq.RCVTIMEO, RECV_TIMEOUT_MS)
            reply("msg " + json.dumps([encode_frame(f) for f in frames]))
        elif op == "recv_until":
            last = decode_frame(cmd["last"])
            got = []
            while True:
                frames = sock.recv_multipart()  # zmq.Again (an error exit) after RCVTIMEO
                got.append([encode_frame(f) for f in frames])
                if frames[0] == last:
                    break
            reply("msgs " + json.dumps(got))
        elif op == "subscribe":
            sock.setsockopt(zmq.SUBSCRIBE, decode_frame(cmd["topic"]))
            reply("ok")
        elif op == "unsubscribe":
            sock.setsockopt(zmq.UNSUBSCRIBE, decode_frame(cmd["topic"]))
            reply("ok")
        elif op == "send_seq":
            for i in range(cmd["count"]):
                sock.send(str(i).encode())
            reply("ok")
        elif op == "recv_seq":
            answer = "ok"
            for i in range(cmd["count"]):
                frames = sock.recv_multipart()
                if frames != [str(i).encode()]:
                    answer = f"bad {i} " + b"|".join(frames).hex()
                    break
            reply(answer)
        elif op == "events":
            names = []
            while monitor.poll(0):
                event = recv_monitor_message(monitor)
                names.append(zmq.Event(event["event"]).name)
            reply("events " + json.dumps(names))
        elif op == "exit":
            reply("bye")
            break
        else:
            raise ValueError(f"unknown op {op!r}")

    if monitor is not None:
        sock.disable_monitor()
        monitor.close()
    sock.close()
    ctx.term()


if __name__ == "__main__":
    main()
