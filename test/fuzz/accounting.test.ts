/**
 * The accounting the fuzzer relies on: every packet the simulator's host receives ends in exactly
 * one disposition of its counters (`dispositions` in tools/fuzz/target.ts), multicast fan-out included.
 */
import { describe, expect, it } from 'vitest';
import { groupAddress } from '../../protocol/lamp.js';
import { ManualClock } from '../../sim/scheduler.js';
import { createTarget, dispositions, type FuzzTarget } from '../../tools/fuzz/target.js';
import { echoRequest, udpPacket } from '../sim/packets.js';

const OUTSIDER = '2001:db8:1::99';
const LAMP_7 = 'fd6c:616d:706e::7';

/** A fleet of 300 lamps (streets street-1..3 of 100) as the fuzzer builds it. */
async function fleet(): Promise<FuzzTarget> {
  return createTarget('dense', 300, new ManualClock(), 1);
}

function inject(target: FuzzTarget, packet: Uint8Array): void {
  target.link.inject(packet);
  target.injected++;
}

describe('one disposition per packet', () => {
  it('counts a multicast Echo Request to a street of 100 lamps as one packet fanned out to 100 copies', async () => {
    const target = await fleet();
    inject(target, echoRequest({ src: OUTSIDER, dst: groupAddress('street-2') }));
    const c = target.host.counters;
    expect({ multicastPackets: c.multicastPackets, multicastCopies: c.multicastCopies, echoReplies: c.echoReplies })
      .toEqual({ multicastPackets: 1, multicastCopies: 100, echoReplies: 100 });
    expect(target.output.echoReplies).toBe(100);
    expect(dispositions(c)).toBe(1);
  });

  it('counts a multicast datagram for a group no lamp joined as one noGroupMember drop', async () => {
    const target = await fleet();
    inject(target, udpPacket({ src: OUTSIDER, dst: groupAddress('street-9') }));
    expect(target.host.counters.multicastPackets).toBe(0);
    expect(dispositions(target.host.counters)).toBe(1);
  });

  it('gives an answered ping, a closed port, a missing lamp and a bad checksum one disposition each', async () => {
    const target = await fleet();
    inject(target, echoRequest({ src: OUTSIDER, dst: LAMP_7 }));
    inject(target, udpPacket({ src: OUTSIDER, dst: LAMP_7, dstPort: 7 }));
    inject(target, echoRequest({ src: OUTSIDER, dst: 'fd6c:616d:706e::1:0' }));
    const bad = echoRequest({ src: OUTSIDER, dst: LAMP_7 });
    bad[bad.length - 1] ^= 1;
    inject(target, bad);
    const c = target.host.counters;
    expect({ received: c.received, echoReplies: c.echoReplies, icmpErrorsSent: c.icmpErrorsSent, dispositions: dispositions(c) })
      .toEqual({ received: 4, echoReplies: 1, icmpErrorsSent: 2, dispositions: 4 });
  });

  it('counts an echo too large to answer on the link (txRefused) as its one disposition', async () => {
    const target = await fleet();
    inject(target, echoRequest({ src: OUTSIDER, dst: LAMP_7, data: new Uint8Array(2000) }));
    const c = target.host.counters;
    expect({ txRefused: c.txRefused, echoReplies: c.echoReplies, dispositions: dispositions(c) })
      .toEqual({ txRefused: 1, echoReplies: 0, dispositions: 1 });
  });

  it('delivers a datagram for a powered-down lamp once, and the fleet counts it as toDeadLamp', async () => {
    const target = await fleet();
    target.fleet.kill(7);
    inject(target, udpPacket({ src: OUTSIDER, dst: LAMP_7, payload: Uint8Array.of(0x40, 1, 0, 1) }));
    expect(target.host.counters.udpDelivered).toBe(1);
    expect(target.fleet.counters.toDeadLamp).toBe(1);
    expect(dispositions(target.host.counters)).toBe(1);
  });
});
