/**
 * Packets captured from the Linux kernel (AF_PACKET on `lo` inside a scratch network namespace,
 * link header stripped), so their checksums were computed by an implementation other than ours.
 */
export function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
}

/** `ping -6 -s 12 -p 6c616d706e6574 2001:db8::2a` from 2001:db8::2a: id 0x1f7f, seq 1. */
export const capturedEchoRequest = hex(
  '6002bc4300143a40 20010db800000000000000000000002a 20010db800000000000000000000002a' +
  '8000b8c01f7f0001 6c616d706e657400432f4c43',
);

/** The kernel's Echo Reply to it. */
export const capturedEchoReply = hex(
  '600c8f0f00143a40 20010db800000000000000000000002a 20010db800000000000000000000002a' +
  '8100b7c01f7f0001 6c616d706e657400432f4c43',
);

/** A UDP datagram from [2001:db8::1]:40000 to [2001:db8::2a]:5683 carrying a 9-byte CoAP GET, read
 * from a TUN device (on `lo` the kernel leaves UDP checksums to offload, so they are incomplete). */
export const capturedUdp = hex(
  '6005500200111140 20010db8000000000000000000000001 20010db800000000000000000000002a' +
  '9c40163300118721 40011234b433333131',
);
