#!/usr/bin/env python3
"""A gateway under load, as the lamps see it: a UDP socket at the gateway's address and CoAP port
that answers every confirmable request with an ACK 5.03 Service Unavailable carrying Max-Age
(RFC 7252 §5.9.3.4), and records when each lamp (by the ep= of its Register) asked.

  busy-gateway.py <address> <max-age-s>

Prints "listening" once bound; on SIGTERM prints one JSON line: requests answered, distinct lamps,
and the gaps (s) from the first answer to one request of a lamp to its next request (a new message
id: retransmissions of the same request, which may cross the answer, are not a new request)."""
import json, re, signal, socket, sys, time

address, max_age = sys.argv[1], int(sys.argv[2])
sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
sock.bind((address, 5683))
asked = {}
answered = 0

def report(*_):
    gaps = []
    for requests in asked.values():
        firsts = [t for k, (t, mid) in enumerate(requests) if k == 0 or mid != requests[k - 1][1]]
        gaps += [round(b - a, 3) for a, b in zip(firsts, firsts[1:])]
    print(json.dumps({'answered': answered, 'lamps': len(asked), 'gaps': gaps}), flush=True)
    sys.exit(0)

signal.signal(signal.SIGTERM, report)
print('listening', flush=True)
while True:
    data, peer = sock.recvfrom(2048)
    if len(data) < 4 or data[0] >> 6 != 1 or (data[0] >> 4) & 3 != 0:
        continue
    tkl = data[0] & 0x0f
    # ACK (type 2), same token length, code 5.03, same message id and token; option 14 Max-Age
    # (delta 14: nibble 13 and one extended byte of 14 - 13), one byte long.
    reply = bytes([0x60 | tkl, 0xa3, data[2], data[3]]) + data[4:4 + tkl] + bytes([0xd1, 0x01, max_age])
    sock.sendto(reply, peer)
    answered += 1
    ep = re.search(rb'ep=(\d+)', data)
    if ep:
        asked.setdefault(int(ep.group(1)), []).append((time.monotonic(), data[2] << 8 | data[3]))
