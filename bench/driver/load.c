/*
 * The load the bench drives every responder with (the simulator, the C reference, the kernel's
 * AnyIP) — the same program for all, so the ratios compare responders, not drivers.
 *
 *   load MODE PREFIX LAMPS WINDOW SECONDS MAX SOURCE
 *
 * MODE echo: ICMPv6 Echo Requests through a ping socket (the kernel fills identifier and checksum
 *   and hands this socket only its own replies). MODE get | put: CoAP CON GET /3311/0 or
 *   PUT /3311/0/5851 through a UDP socket to port 5683, matched by token. MODE senml | text: GET
 *   /3311/0 with Accept 110 (SenML JSON) or GET /3311/0/5851 with Accept 0 (text/plain), whose
 *   answer must also carry that Content-Format.
 * Closed loop: WINDOW requests in flight; each answer sends the next request to the next lamp.
 * Destinations walk all of 1..LAMPS (<PREFIX>::n) in a stride order coprime to LAMPS, so every lamp
 * is hit and consecutive requests go to distant lamps. A request unanswered for 200 ms is counted
 * lost and its slot reused.
 *
 * Only a confirmed answer counts as answered: it comes from the address the request went to (and
 * port 5683) and is the answer asked for — an Echo Reply with the request's identifier, sequence
 * number and data; a CoAP ACK with the request's message id and token and code 2.05 Content for
 * GET, 2.04 Changed for PUT. An answer to a pending request that fails any of these is an error
 * (wrongSource of them from another address); a responder that answers everything with 4.04 has
 * a rate of errors and no answers. Stops after SECONDS or MAX answers, whichever is first; prints
 * one JSON line: sent, answered, errors, wrongSource, lost, seconds, rate (answers/s), p50Us, p99Us
 * (null without a confirmed answer), answerBytes (mean UDP payload of the confirmed answers).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/icmp6.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_WINDOW 4096
#define LOST_NS 200000000LL
#define BUCKETS 100000 /* latency histogram: 1 µs buckets below 100 ms, one overflow bucket above */

enum mode { ECHO, GET, PUT, SENML, TEXT };

struct slot {
  uint32_t tag;
  uint16_t mid; /* CoAP message id, or the echo sequence number */
  struct in6_addr to;
  int64_t sentNs;
};

static enum mode mode;
static int sock;
static uint8_t prefix[16];
static uint64_t lamps, stride, cursor;
static struct slot slots[MAX_WINDOW];
static uint64_t sent, answered, errors, wrong_source, lost, answer_bytes;
static uint64_t histogram[BUCKETS + 1];
static uint16_t mid, echo_id;

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static uint64_t gcd(uint64_t a, uint64_t b) {
  while (b) { uint64_t t = a % b; a = b; b = t; }
  return a;
}

static void next_destination(struct sockaddr_in6 *to) {
  uint64_t n = cursor % lamps + 1;
  cursor += stride;
  memset(to, 0, sizeof *to);
  to->sin6_family = AF_INET6;
  to->sin6_port = htons(mode == ECHO ? 0 : 5683);
  memcpy(&to->sin6_addr, prefix, 8);
  for (int i = 0; i < 8; i++) to->sin6_addr.s6_addr[15 - i] = (uint8_t)(n >> (8 * i));
}

/* Send a fresh request on slot `s`. The tag (slot index, generation) comes back in the echo data
 * or the CoAP token. */
static void send_request(int s) {
  uint8_t msg[64];
  size_t n;
  slots[s].tag = ((slots[s].tag + 0x10000) & 0xffff0000u) | (uint32_t)s;
  uint32_t tag = htonl(slots[s].tag);
  mid++;
  slots[s].mid = mid;
  if (mode == ECHO) {
    /* The kernel writes the identifier (the ping socket's) and the checksum. */
    memset(msg, 0, 16);
    msg[0] = ICMP6_ECHO_REQUEST;
    msg[6] = (uint8_t)(mid >> 8); msg[7] = (uint8_t)mid;
    memcpy(msg + 8, &tag, 4);
    n = 16;
  } else {
    msg[0] = 0x44; /* version 1, CON, token length 4 */
    msg[1] = mode == PUT ? 3 : 1;
    msg[2] = (uint8_t)(mid >> 8); msg[3] = (uint8_t)mid;
    memcpy(msg + 4, &tag, 4);
    n = 8;
    memcpy(msg + n, "\xb4" "3311" "\x01" "0", 7); /* Uri-Path 3311, 0 */
    n += 7;
    if (mode == PUT) {
      int level = 1 + (int)(sent % 100);
      memcpy(msg + n, "\x04" "5851", 5); /* Uri-Path 5851 */
      n += 5;
      n += (size_t)sprintf((char *)msg + n, "\xff%d", level);
    } else if (mode == SENML) {
      memcpy(msg + n, "\x61\x6e", 2); /* Accept (17) 110 */
      n += 2;
    } else if (mode == TEXT) {
      memcpy(msg + n, "\x04" "5851" "\x60", 6); /* Uri-Path 5851, Accept (17) 0 */
      n += 6;
    }
  }
  struct sockaddr_in6 to;
  next_destination(&to);
  slots[s].to = to.sin6_addr;
  slots[s].sentNs = now_ns();
  sent++;
  if (sendto(sock, msg, n, 0, (struct sockaddr *)&to, sizeof to) < 0 && errno != EAGAIN && errno != ENOBUFS) {
    perror("load: sendto");
    exit(1);
  }
}

enum verdict { CONFIRMED, WRONG, WRONG_SOURCE };

static uint16_t u16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* The Content-Format (option 12) of a CoAP message with a 4-byte token, -1 when it has none or its
 * options do not parse. */
static long content_format(const uint8_t *p, ssize_t len) {
  ssize_t i = 8;
  unsigned number = 0;
  while (i < len && p[i] != 0xff) {
    unsigned delta = p[i] >> 4, length = p[i] & 0x0f;
    i++;
    if (delta == 13) { if (i >= len) return -1; delta = 13 + p[i++]; }
    else if (delta == 14) { if (i + 1 >= len) return -1; delta = 269 + u16(p + i); i += 2; }
    else if (delta == 15) return -1;
    if (length == 13) { if (i >= len) return -1; length = 13 + p[i++]; }
    else if (length == 14) { if (i + 1 >= len) return -1; length = 269 + u16(p + i); i += 2; }
    else if (length == 15) return -1;
    if (i + (ssize_t)length > len) return -1;
    number += delta;
    if (number == 12) {
      long v = 0;
      for (unsigned k = 0; k < length; k++) v = v << 8 | p[i + k];
      return v;
    }
    if (number > 12) return -1;
    i += length;
  }
  return -1;
}

/* The slot an answer belongs to by its tag, or -1 (stale, after its request was counted lost, or
 * foreign); *verdict says whether it is the confirmed answer to that slot's request. */
static int match(const uint8_t *p, ssize_t len, const struct sockaddr_in6 *from, int window, enum verdict *verdict) {
  uint32_t tag;
  if (mode == ECHO) {
    if (len < 12) return -1;
    memcpy(&tag, p + 8, 4);
  } else {
    if (len < 8 || (p[0] & 0x0f) != 4) return -1; /* token length 4 */
    memcpy(&tag, p + 4, 4);
  }
  tag = ntohl(tag);
  int s = (int)(tag & 0xffff);
  if (s >= window || slots[s].tag != tag) return -1;
  int confirmed;
  if (mode == ECHO) {
    confirmed = p[0] == ICMP6_ECHO_REPLY && p[1] == 0 && u16(p + 4) == echo_id && u16(p + 6) == slots[s].mid;
  } else {
    uint8_t want = mode == PUT ? 0x44 : 0x45; /* 2.04 Changed, 2.05 Content */
    confirmed = (p[0] >> 4) == 0x6 /* version 1, ACK */ && u16(p + 2) == slots[s].mid && p[1] == want &&
                from->sin6_port == htons(5683) &&
                (mode == SENML ? content_format(p, len) == 110 : mode == TEXT ? content_format(p, len) == 0 : 1);
  }
  if (memcmp(&from->sin6_addr, &slots[s].to, sizeof slots[s].to) != 0) *verdict = WRONG_SOURCE;
  else *verdict = confirmed ? CONFIRMED : WRONG;
  return s;
}

static uint64_t percentile(double q) {
  uint64_t want = (uint64_t)(q * (double)answered), seen = 0;
  for (int i = 0; i <= BUCKETS; i++) {
    seen += histogram[i];
    if (seen > want) return (uint64_t)i;
  }
  return BUCKETS;
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: load echo|get|put|senml|text PREFIX LAMPS WINDOW SECONDS MAX SOURCE\n");
    return 2;
  }
  mode = strcmp(argv[1], "echo") == 0 ? ECHO : strcmp(argv[1], "get") == 0 ? GET : strcmp(argv[1], "senml") == 0 ? SENML
       : strcmp(argv[1], "text") == 0 ? TEXT : PUT;
  lamps = strtoull(argv[3], NULL, 10);
  int window = atoi(argv[4]);
  double seconds = atof(argv[5]);
  uint64_t max = strtoull(argv[6], NULL, 10);
  struct sockaddr_in6 src = { .sin6_family = AF_INET6 };
  if (inet_pton(AF_INET6, argv[2], prefix) != 1 || inet_pton(AF_INET6, argv[7], &src.sin6_addr) != 1 ||
      lamps == 0 || window < 1 || window > MAX_WINDOW || seconds <= 0) {
    fprintf(stderr, "load: bad arguments (expected MODE PREFIX LAMPS WINDOW SECONDS MAX SOURCE)\n");
    return 2;
  }
  for (stride = lamps / 2 + 7919; gcd(stride, lamps) != 1; stride++) {}
  cursor = (uint64_t)getpid() * 7919;
  sock = mode == ECHO ? socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6) : socket(AF_INET6, SOCK_DGRAM, 0);
  int buf = 8 << 20;
  setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  if (sock < 0 || bind(sock, (struct sockaddr *)&src, sizeof src) < 0) {
    perror(mode == ECHO ? "load: ping socket (is net.ipv4.ping_group_range set?)" : "load: UDP socket");
    return 1;
  }
  int64_t start = now_ns(), end = start + (int64_t)(seconds * 1e9), checked = start;
  for (int s = 0; s < window; s++) send_request(s);
  if (mode == ECHO) {
    /* A ping socket's identifier is its port, fixed by the first send. */
    struct sockaddr_in6 bound;
    socklen_t size = sizeof bound;
    if (getsockname(sock, (struct sockaddr *)&bound, &size) < 0) {
      perror("load: getsockname");
      return 1;
    }
    echo_id = ntohs(bound.sin6_port);
  }
  uint8_t reply[2048];
  struct pollfd pfd = { .fd = sock, .events = POLLIN };
  int64_t t = start;
  while (t < end && answered < max) {
    poll(&pfd, 1, 10);
    /* Bounded: on loopback an answer can be back before recv() is called again. */
    for (int burst = 0; burst < 256; burst++) {
      struct sockaddr_in6 from;
      socklen_t fromLen = sizeof from;
      ssize_t len = recvfrom(sock, reply, sizeof reply, MSG_DONTWAIT, (struct sockaddr *)&from, &fromLen);
      if (len < 0) break;
      enum verdict verdict;
      int s = match(reply, len, &from, window, &verdict);
      if (s < 0) continue;
      if (verdict == CONFIRMED) {
        int64_t us = (now_ns() - slots[s].sentNs) / 1000;
        histogram[us < BUCKETS ? us : BUCKETS]++;
        answered++;
        answer_bytes += (uint64_t)len;
      } else {
        errors++;
        if (verdict == WRONG_SOURCE) wrong_source++;
      }
      send_request(s);
    }
    t = now_ns();
    if (t - checked > LOST_NS / 4) {
      checked = t;
      for (int s = 0; s < window; s++) {
        if (t - slots[s].sentNs > LOST_NS) {
          lost++;
          send_request(s);
        }
      }
    }
  }
  double elapsed = (double)(now_ns() - start) / 1e9;
  char p50[24] = "null", p99[24] = "null"; /* no latency without a confirmed answer */
  if (answered > 0) {
    snprintf(p50, sizeof p50, "%llu", (unsigned long long)percentile(0.5));
    snprintf(p99, sizeof p99, "%llu", (unsigned long long)percentile(0.99));
  }
  printf("{\"sent\":%llu,\"answered\":%llu,\"errors\":%llu,\"wrongSource\":%llu,\"lost\":%llu,\"seconds\":%.3f,\"rate\":%.0f,\"p50Us\":%s,\"p99Us\":%s,\"answerBytes\":%.1f}\n",
         (unsigned long long)sent, (unsigned long long)answered, (unsigned long long)errors, (unsigned long long)wrong_source, (unsigned long long)lost,
         elapsed, (double)answered / elapsed, p50, p99, answered > 0 ? (double)answer_bytes / (double)answered : 0.0);
  return 0;
}
