#!/usr/bin/env python3
# A slow, lossy link for the partition drill, in place of `tc qdisc ... netem` (the kernel the drill
# runs on has no netem): iptables hands each packet of a member's link to NFQUEUE queue Q; this holds
# it DELAY_MS, then lets it through, or drops it with probability LOSS_PERCENT. Raw nfnetlink from the
# standard library (no libnetfilter_queue). Runs inside the member's namespace until SIGTERM, then
# lets through what it still holds.
#   usage: slow-link.py QUEUE DELAY_MS LOSS_PERCENT
import random
import select
import signal
import socket
import struct
import sys
import time
from collections import deque

NETLINK_NETFILTER = 12
SUBSYS_QUEUE = 3
MSG_PACKET, MSG_VERDICT, MSG_CONFIG = 0, 1, 2
NLMSG_ERROR = 2
NLM_F_REQUEST = 1
SO_RCVBUFFORCE = 33
CFG_CMD, CFG_PARAMS, CFG_QUEUE_MAXLEN = 1, 2, 3
CMD_BIND = 1
COPY_META = 1
ATTR_PACKET_HDR = 1
ATTR_VERDICT_HDR = 2
NF_DROP, NF_ACCEPT = 0, 1

queue, delay_s, loss = int(sys.argv[1]), float(sys.argv[2]) / 1000, float(sys.argv[3]) / 100
sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
sock.bind((0, 0))
seq = 0


def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * (-n % 4)


def send(kind, attrs):
    global seq
    seq += 1
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue)) + b"".join(attrs)
    head = struct.pack("=IHHII", 16 + len(body), (SUBSYS_QUEUE << 8) | kind, NLM_F_REQUEST, seq, 0)
    sock.send(head + body)


def verdict(packet_id, v):
    send(MSG_VERDICT, [attr(ATTR_VERDICT_HDR, struct.pack("!II", v, packet_id))])


send(MSG_CONFIG, [attr(CFG_CMD, struct.pack("!BBH", CMD_BIND, 0, 0))])
send(MSG_CONFIG, [attr(CFG_PARAMS, struct.pack("!IB", 0, COPY_META))])
send(MSG_CONFIG, [attr(CFG_QUEUE_MAXLEN, struct.pack("!I", 65536))])

stopping = False


def stop(*_):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
held = deque()  # (due, packet id): one delay for all, so due times stay in order
print("ready", flush=True)

while not stopping:
    now = time.monotonic()
    while held and held[0][0] <= now:
        verdict(held.popleft()[1], NF_ACCEPT)
    try:
        readable, _, _ = select.select([sock], [], [], max(0, held[0][0] - now) if held else 0.5)
    except InterruptedError:
        continue
    if not readable:
        continue
    try:
        data = sock.recv(1 << 20)
    except OSError:
        continue  # ENOBUFS: the kernel could not hand us some packets; TCP resends them
    off = 0
    while off + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, off)
        if length < 16:
            break
        if kind == (SUBSYS_QUEUE << 8) | MSG_PACKET:
            a = off + 20  # netlink header + nfgenmsg
            while a + 4 <= off + length:
                alen, atype = struct.unpack_from("=HH", data, a)
                if alen < 4:
                    break
                if atype & 0x7FFF == ATTR_PACKET_HDR:
                    packet_id = struct.unpack_from("!I", data, a + 4)[0]
                    if random.random() < loss:
                        verdict(packet_id, NF_DROP)
                    else:
                        held.append((time.monotonic() + delay_s, packet_id))
                a += (alen + 3) & ~3
        elif kind == NLMSG_ERROR and struct.unpack_from("=i", data, off + 16)[0] != 0:
            print("netlink error", struct.unpack_from("=i", data, off + 16)[0], file=sys.stderr, flush=True)
        off += (length + 3) & ~3

for _, packet_id in held:
    verdict(packet_id, NF_ACCEPT)
