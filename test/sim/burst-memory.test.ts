/**
 * A bounded burst through the in-memory link: 100,000 Echo Requests to 100,000 distinct lamps, every
 * reply checked to come from the lamp that was asked.
 */
import { describe, expect, it } from 'vitest';
import { fillIcmpv6Checksum, Icmpv6Type } from '../../ipv6/wire/icmpv6.js';
import { hostOnMemoryLink, REQUESTER } from './fixture.js';
import { echoRequest } from './packets.js';

const LAMPS = 100_000;

describe('a burst of pings through the memory link', () => {
  it('answers 100,000 Echo Requests to 100,000 lamps, each from the address asked', () => {
    const { link, host } = hostOnMemoryLink(LAMPS);
    const request = echoRequest({ src: REQUESTER, dst: '2001:db8::1', id: 1 });
    let replies = 0;
    let wrong = 0;
    let expected = 0;
    link.onTransmit((buf, off) => {
      replies++;
      // The reply's source interface id is the lamp number; its sequence number repeats it.
      const iid = (buf[off + 20] << 24 | buf[off + 21] << 16 | buf[off + 22] << 8 | buf[off + 23]) >>> 0;
      const seq = (buf[off + 46] << 8) | buf[off + 47];
      if (buf[off + 40] !== Icmpv6Type.echoReply || iid !== expected || seq !== (expected & 0xffff)) wrong++;
    });
    for (let lamp = 1; lamp <= LAMPS; lamp++) {
      expected = lamp;
      request.set([lamp >>> 24, (lamp >>> 16) & 0xff, (lamp >>> 8) & 0xff, lamp & 0xff], 36);
      request[46] = (lamp >> 8) & 0xff;
      request[47] = lamp & 0xff;
      request[42] = 0;
      request[43] = 0;
      fillIcmpv6Checksum(request, 40, request.length - 40, request, 8, request, 24);
      link.inject(request);
    }
    // The fixture's own listener decodes (and so verifies) every reply too.
    expect({ replies, wrong, echoReplies: host.counters.echoReplies }).toEqual({ replies: LAMPS, wrong: 0, echoReplies: LAMPS });
  });
});
