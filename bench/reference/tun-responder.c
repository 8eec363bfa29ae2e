/*
 * The reference the simulator is measured against: the least a TUN responder can do.
 * One read() and one write() per packet, no batching, no state per lamp:
 *   - ICMPv6 Echo Request to any address → Echo Reply from that address;
 *   - UDP to port 5683 carrying a CoAP request → a piggybacked ACK from that address
 *     (GET → 2.05 Content with a lamp-sized state document, PUT → 2.04 Changed), same MID and token.
 * Everything else is ignored. The bench creates the device through this process (it disappears
 * when the process ends) and routes the prefix to it with `ip`.
 *
 *   tun-responder NAME      prints "ready <device>" once the device exists, then serves forever
 */
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The state document the simulator's lamps answer a GET /3311/0 with, for equal reply sizes. */
static const char STATE[] = "{\"on\":1,\"level\":100,\"w\":60,\"wh\":0,\"t\":0,\"f\":0}";

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t acc) {
  for (; len > 1; p += 2, len -= 2) acc += (uint32_t)(p[0] << 8 | p[1]);
  if (len) acc += (uint32_t)(p[0] << 8);
  return acc;
}

/* RFC 8200 §8.1 checksum of an upper-layer packet of `len` bytes at `l4` (checksum field zeroed). */
static uint16_t l4_checksum(const uint8_t *ip6, const uint8_t *l4, size_t len, uint8_t proto) {
  uint32_t acc = sum16(ip6 + 8, 32, 0);
  acc += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff) + proto;
  acc = sum16(l4, len, acc);
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  uint16_t c = (uint16_t)~acc;
  return c == 0 ? 0xffff : c;
}

static void swap_addresses(uint8_t *ip6) {
  uint8_t tmp[16];
  memcpy(tmp, ip6 + 8, 16);
  memcpy(ip6 + 8, ip6 + 24, 16);
  memcpy(ip6 + 24, tmp, 16);
}

/* Turn the Echo Request in `p` into its reply in place; returns the length to write or 0. */
static size_t echo_reply(uint8_t *p, size_t len) {
  uint8_t *icmp = p + 40;
  if (len < 48 || icmp[0] != 128) return 0;
  swap_addresses(p);
  icmp[0] = 129;
  icmp[2] = icmp[3] = 0;
  uint16_t c = l4_checksum(p, icmp, len - 40, 58);
  icmp[2] = (uint8_t)(c >> 8);
  icmp[3] = (uint8_t)c;
  return len;
}

/* Write the CoAP ACK for the request in `p` into `out`; returns its length or 0. */
static size_t coap_reply(const uint8_t *p, size_t len, uint8_t *out) {
  const uint8_t *udp = p + 40, *coap = udp + 8;
  if (len < 52 || (udp[2] << 8 | udp[3]) != 5683) return 0;
  size_t tkl = coap[0] & 15;
  if ((coap[0] >> 6) != 1 || tkl > 8 || len < 52 + tkl) return 0;
  uint8_t code = coap[1] == 1 ? 0x45 : coap[1] == 3 ? 0x44 : 0x80;
  memcpy(out, p, 40);
  swap_addresses(out);
  uint8_t *u = out + 40, *c = u + 8;
  u[0] = udp[2]; u[1] = udp[3]; u[2] = udp[0]; u[3] = udp[1];
  c[0] = (uint8_t)(0x60 | tkl); /* version 1, ACK */
  c[1] = code;
  c[2] = coap[2]; c[3] = coap[3];
  memcpy(c + 4, coap + 4, tkl);
  size_t n = 4 + tkl;
  if (code == 0x45) {
    c[n++] = 0xc1; c[n++] = 50; /* Content-Format: application/json */
    c[n++] = 0xff;
    memcpy(c + n, STATE, sizeof STATE - 1);
    n += sizeof STATE - 1;
  }
  size_t ulen = 8 + n;
  u[4] = (uint8_t)(ulen >> 8); u[5] = (uint8_t)ulen; u[6] = u[7] = 0;
  out[4] = (uint8_t)(ulen >> 8); out[5] = (uint8_t)ulen;
  uint16_t sum = l4_checksum(out, u, ulen, 17);
  u[6] = (uint8_t)(sum >> 8); u[7] = (uint8_t)sum;
  return 40 + ulen;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: tun-responder NAME\n");
    return 2;
  }
  int fd = open("/dev/net/tun", O_RDWR);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
  if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
    perror("tun-responder: creating the TUN device");
    return 1;
  }
  printf("ready %s\n", ifr.ifr_name);
  fflush(stdout);
  static uint8_t in[65536], out[2048];
  for (;;) {
    ssize_t r = read(fd, in, sizeof in);
    if (r < 40 || (in[0] >> 4) != 6) continue;
    size_t len = (size_t)r;
    if (40 + (size_t)(in[4] << 8 | in[5]) != len) continue;
    if (in[6] == 58) {
      size_t n = echo_reply(in, len);
      if (n) (void)!write(fd, in, n);
    } else if (in[6] == 17) {
      size_t n = coap_reply(in, len, out);
      if (n) (void)!write(fd, out, n);
    }
  }
}
