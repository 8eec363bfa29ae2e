"""Write hostile packets into the board translator's TUN device from the kernel's side, byte for byte.

    python3 hostile-siit.py DEVICE PREFIX BOARD_IPV4

PREFIX is the board prefix as text ending in '::' (e.g. 2001:db8:b0a:d::). An AF_PACKET socket bound
to a TUN device hands the bytes to the device's queue without the checks the kernel's IP stacks would
make, so the translator reads exactly these packets. All hostile IPv6 packets come from
PREFIX + 10.77.1.99 (the IPv4 address 10.77.1.99 once translated); the last packet is one valid
Echo Request from there, the control a capture on the board's side must see alone.
Prints one JSON object: per case "sent" or the kernel's refusal.
"""
import json
import socket
import struct
import sys

device, prefix, board_v4 = sys.argv[1], sys.argv[2], sys.argv[3]
SRC = socket.inet_pton(socket.AF_INET6, prefix + '10.77.1.99')
DST = socket.inet_pton(socket.AF_INET6, prefix + board_v4)
UNTRANSLATABLE = socket.inet_pton(socket.AF_INET6, '2001:db8:1::99')
BOARD4 = socket.inet_aton(board_v4)
CLIENT4 = socket.inet_aton('10.77.1.99')


def fold(total):
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return total


def csum(data):
    if len(data) % 2:
        data += b'\0'
    return (~fold(sum(struct.unpack('!%dH' % (len(data) // 2), data)))) & 0xffff


def ip6(payload, next_header, src=SRC, payload_len=None):
    length = len(payload) if payload_len is None else payload_len
    return struct.pack('!IHBB', 6 << 28, length, next_header, 64) + src + DST + payload


def pseudo6(data, proto, src=SRC):
    return src + DST + struct.pack('!IxxxB', len(data), proto)


def echo6(src=SRC, bad=False):
    body = struct.pack('!BBHHH', 128, 0, 0, 0x5117, 1) + b'hostile'
    c = csum(pseudo6(body, 58, src) + body) ^ (0x1111 if bad else 0)
    return ip6(body[:2] + struct.pack('!H', c) + body[4:], 58, src)


def udp6(bad=False, length=None):
    payload = b'\x40\x01\x00\x01'
    body = struct.pack('!HHHH', 40000, 5683, len(payload) + 8 if length is None else length, 0) + payload
    c = csum(pseudo6(body, 17) + body) ^ (0x1111 if bad else 0)
    return ip6(body[:6] + struct.pack('!H', c) + body[8:], 17)


def ip4(payload, proto=17, flags_fragment=0, ihl=5, bad_checksum=False):
    header = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, 20 + len(payload), 1, flags_fragment, 64, proto, 0, BOARD4, CLIENT4)
    c = csum(header) ^ (0x1111 if bad_checksum else 0)
    return header[:10] + struct.pack('!H', c) + header[12:] + payload


UDP4 = struct.pack('!HHHH', 5683, 40000, 12, 0) + b'\x60\x45\x00\x01'

CASES = [
    ('shortFrame', b'\x60' + b'\0' * 9),
    ('payloadLengthExceedsFrame', ip6(b'\0' * 8, 17, payload_len=100)),
    ('udpBadChecksum', udp6(bad=True)),
    ('udpBadLength', udp6(length=200)),
    ('icmpBadChecksum', echo6(bad=True)),
    ('icmpTruncated', ip6(b'\x80\0\0\0', 58)),
    ('fragment', ip6(struct.pack('!BBHI', 17, 0, 1, 7) + b'\0' * 16, 44)),
    ('unknownNextHeader', ip6(struct.pack('!HHIIBBHHH', 40000, 5683, 1, 0, 0x50, 2, 1024, 0, 0), 6)),
    ('sourceNotTranslatable', echo6(src=UNTRANSLATABLE)),
    ('ipv4BadChecksum', ip4(UDP4, bad_checksum=True)),
    ('ipv4Fragment', ip4(UDP4, flags_fragment=0x2000)),
    ('ipv4BadHeader', ip4(UDP4, ihl=3)),
    ('notIp', b'\x10' + b'\0' * 39),
    ('control', echo6()),
]

sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM)
sock.bind((device, 0x86DD))
report = {}
for name, packet in CASES:
    try:
        sock.send(packet)
        report[name] = 'sent'
    except OSError as err:
        report[name] = 'refused: %s' % err
print(json.dumps(report))
