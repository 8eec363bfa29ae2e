"""Write hostile IPv6 packets into a TUN device from the kernel's side, byte for byte.

    python3 hostile-tun.py DEVICE PREFIX RANDOM_COUNT

An AF_PACKET socket bound to a TUN device (no link-layer header) hands the bytes to the device's
queue as they are, without the checks the kernel's IPv6 stack would make: what the simulator reads
is exactly what was written. Each case is sent once; then RANDOM_COUNT packets of seeded random
bytes (bounded). Prints one JSON object: per case "sent" or the kernel's refusal, and the number
of random packets the kernel took.
"""
import json
import random
import socket
import struct
import sys

device, prefix, random_count = sys.argv[1], sys.argv[2], int(sys.argv[3])
LAMP = socket.inet_pton(socket.AF_INET6, prefix + '1')
SRC = socket.inet_pton(socket.AF_INET6, '2001:db8:1::99')
ETH_P_IPV6 = 0x86DD


def header(payload_len, next_header, version=6, src=SRC, dst=LAMP, hop_limit=64):
    return struct.pack('!IHBB', version << 28, payload_len, next_header, hop_limit) + src + dst


def checksum(data, src=SRC, dst=LAMP, proto=58):
    pseudo = src + dst + struct.pack('!IxxxB', len(data), proto)
    buf = pseudo + data + (b'\0' if len(data) % 2 else b'')
    total = sum(struct.unpack('!%dH' % (len(buf) // 2), buf))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return (~total) & 0xffff


def echo(data):
    body = struct.pack('!BBHHH', 128, 0, 0, 7, 1) + data
    c = checksum(body)
    return body[:2] + struct.pack('!H', c) + body[4:]


def packet(upper, next_header, **kw):
    return header(len(upper), next_header, **kw) + upper


good_echo = packet(echo(b'lampnet'), 58)
udp_bad_sum = struct.pack('!HHHH', 40000, 5683, 12, 0x1234) + b'\x40\x01\x00\x01'
udp_bad_len = struct.pack('!HHHH', 40000, 5683, 200, 0) + b'\x40\x01\x00\x01'
CASES = {
    'zero-length': b'',
    'one byte': b'\x60',
    'truncated header (39 bytes)': good_echo[:39],
    'wrong version (4)': packet(echo(b'x'), 58, version=4),
    'wrong version (0)': packet(echo(b'x'), 58, version=0),
    'payload length beyond the frame': header(1000, 58) + echo(b'x'),
    'truncated echo': header(len(echo(b'lampnet')), 58) + echo(b'lampnet')[:6],
    'ICMPv6 shorter than its header': packet(b'\x80\x00\x00', 58),
    'ICMPv6 bad checksum': packet(echo(b'lampnet')[:-1] + b'X', 58),
    'hop-by-hop running past the packet': packet(bytes([58, 200]) + bytes(6), 0),
    'hop-by-hop not first': packet(bytes([0, 0]) + bytes(6) + bytes([58, 0]) + bytes(6) + echo(b'x'), 60),
    'unrecognized discard option': packet(bytes([58, 0, 0x80, 4]) + bytes(4) + echo(b'x'), 60),
    'routing with segments left': packet(bytes([58, 0, 4, 1]) + bytes(4) + echo(b'x'), 43),
    'fragment header': packet(bytes([58, 0, 0, 1]) + bytes(4) + echo(b'x'), 44),
    'garbage extension chain': packet(bytes([60, 255]) + bytes(random.Random(5).randrange(256) for _ in range(30)), 60),
    'no next header': packet(b'', 59),
    'unknown protocol': packet(bytes(16), 253),
    'UDP bad length': packet(udp_bad_len, 17),
    'UDP bad checksum': packet(udp_bad_sum, 17),
    'multicast source': packet(echo(b'x'), 58, src=socket.inet_pton(socket.AF_INET6, 'ff02::1')),
    'hop limit 0': packet(echo(b'x'), 58, hop_limit=0),
    'outside the prefix': packet(echo(b'x'), 58, dst=socket.inet_pton(socket.AF_INET6, '2001:db8:ffff::1')),
    'oversized (above the simulator MTU)': packet(echo(bytes(7000)), 58),
}

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
s.bind((device, ETH_P_IPV6))
result = {}
for name, data in CASES.items():
    try:
        s.send(data)
        result[name] = 'sent'
    except OSError as e:
        result[name] = 'refused: %s' % e.strerror
rng = random.Random(2026)
taken = 0
for _ in range(random_count):
    data = bytes(rng.randrange(256) for _ in range(rng.choice([rng.randrange(48), rng.randrange(1400)])))
    if data and rng.random() < 0.5:
        data = bytes([0x60 | (data[0] & 15)]) + data[1:]
    try:
        s.send(data)
        taken += 1
    except OSError:
        pass
result['random'] = taken
print(json.dumps(result))
