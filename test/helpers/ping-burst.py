#!/usr/bin/env python3
"""Send one ICMPv6 Echo Request to each of COUNT lamps (<prefix>::1 .. <prefix>::COUNT) through the
kernel, WINDOW at a time, and check every Echo Reply comes from the address that was asked.

    ping-burst.py PREFIX COUNT [WINDOW]

Runs inside the test's network namespace (raw sockets need CAP_NET_RAW). The window keeps the
requests in flight below the TUN device's queue (txqueuelen 500), so nothing is lost to queueing.
Prints one JSON line: {"sent", "answered", "wrongSource", "duplicates", "missing"} (plus
"firstMissing", up to ten lamp numbers, when some are missing).
"""
import json, os, select, socket, struct, sys, time

prefix = socket.inet_pton(socket.AF_INET6, sys.argv[1])[:8]
count = int(sys.argv[2])
window = int(sys.argv[3]) if len(sys.argv) > 3 else 200
ident = os.getpid() & 0xffff

sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
ICMP6_FILTER = 1
blocked = [0xffffffff] * 8
blocked[129 >> 5] &= ~(1 << (129 & 31))  # pass Echo Reply only
sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack('8I', *blocked))

def address(n):
    return prefix + struct.pack('!II', n >> 32, n & 0xffffffff)

answered = bytearray(count + 1)
stats = {"sent": 0, "answered": 0, "wrongSource": 0, "duplicates": 0}
for first in range(1, count + 1, window):
    last = min(count, first + window - 1)
    for n in range(first, last + 1):
        # The kernel fills in the ICMPv6 checksum of raw ICMPv6 sockets (RFC 3542 §3.1).
        sock.sendto(struct.pack('!BBHHHI', 128, 0, 0, ident, n & 0xffff, n), (socket.inet_ntop(socket.AF_INET6, address(n)), 0))
        stats["sent"] += 1
    pending = last - first + 1
    deadline = time.monotonic() + 5
    while pending > 0:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            break
        data, src = sock.recvfrom(2048)
        if len(data) < 12 or data[0] != 129 or struct.unpack('!H', data[4:6])[0] != ident:
            continue
        n = struct.unpack('!I', data[8:12])[0]
        if n < first or n > last:
            continue
        if answered[n]:
            stats["duplicates"] += 1
            continue
        answered[n] = 1
        pending -= 1
        stats["answered"] += 1
        if socket.inet_pton(socket.AF_INET6, src[0]) != address(n):
            stats["wrongSource"] += 1
stats["missing"] = count - stats["answered"]
if stats["missing"]:
    stats["firstMissing"] = [n for n in range(1, count + 1) if not answered[n]][:10]
print(json.dumps(stats))
