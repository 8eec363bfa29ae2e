/**
 * Found by the fuzz tests: the lamp core keeps one reader, writer and send buffer for the whole
 * fleet, so no HAL call may re-enter it (firmware/hal.ts). A lamp sending from its timer while the
 * memory link's outgoing batch is full made `reserve` send the batch; a gateway endpoint answering
 * from inside that delivery had its answer handled at once — inside the lamp's `hal.send` — and the
 * lamp put out a message cut short by the answer's processing (a 9-byte POST /rd). Packets injected
 * during a delivery that `reserve` started now wait for the next turn of the event loop.
 */
import { describe, expect, it } from 'vitest';
import { MemoryLink } from '../../ipv6/link/memory.js';
import { parseIpv6 } from '../../ipv6/wire/address.js';
import { emitIpv6Header, IPV6_HEADER_LEN, NextHeader } from '../../ipv6/wire/ipv6.js';
import { emitUdpHeader, fillUdpChecksum, UDP_HEADER_LEN } from '../../ipv6/wire/udp.js';

const LAMP = parseIpv6('2001:db8::7')!;
const GATEWAY = '2001:db8::ffff:0:0:1';

/** Writes one datagram from the lamp to the gateway's endpoint the way the host does: reserve,
 * write in place, commit. */
function sendToGateway(link: MemoryLink): void {
  const len = IPV6_HEADER_LEN + UDP_HEADER_LEN + 4;
  const at = link.reserve(len);
  const out = link.txBuf;
  emitIpv6Header(out, at, LAMP, 0, parseIpv6(GATEWAY)!, 0, NextHeader.udp, UDP_HEADER_LEN + 4, 64);
  emitUdpHeader(out, at + IPV6_HEADER_LEN, 5683, 5683, 4);
  out.set([0x40, 2, 0, 1], at + IPV6_HEADER_LEN + UDP_HEADER_LEN);
  fillUdpChecksum(out, at + IPV6_HEADER_LEN, UDP_HEADER_LEN + 4, out, at + 8, out, at + 24);
  link.commit(len);
}

describe('the memory link while a sender is writing', () => {
  it('handles an endpoint\'s answer after the sender finished, not inside the reserve that sent the batch', async () => {
    const link = new MemoryLink({ txPackets: 1 });
    let sending = false;
    const handledWhileSending: number[] = [];
    let handled = 0;
    link.start(() => {
      handled++;
      if (sending) handledWhileSending.push(handled);
    });
    const gateway = link.endpoint(GATEWAY, 5683);
    gateway.onMessage((from, port) => gateway.send(from, port, Uint8Array.of(0x60, 0x44, 0, 1)));
    // Two lamps' timers fire outside any inbound batch; the second finds the batch full.
    for (let lamp = 0; lamp < 2; lamp++) {
      sending = true;
      sendToGateway(link);
      sending = false;
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(handledWhileSending).toEqual([]);
    expect(handled).toBe(2);
  });
});
