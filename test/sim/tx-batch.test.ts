import { describe, expect, it } from 'vitest';
import { TxBatch } from '../../ipv6/link/link.js';

function batch(bytes: number, packets: number) {
  const sent: number[][] = [];
  const tx = new TxBatch(100, (b) => sent.push(Array.from(b.lens.subarray(0, b.count))), bytes, packets);
  const send = (len: number) => {
    const at = tx.reserve(len);
    if (at >= 0) tx.commit(len);
    return at;
  };
  return { tx, sent, send };
}

describe('TxBatch (the links\' outgoing batch)', () => {
  it('sends the replies of an inbound batch together when it ends', () => {
    const { tx, sent, send } = batch(1000, 10);
    tx.beginInbound();
    send(10);
    send(20);
    expect(sent).toEqual([]);
    tx.endInbound();
    expect(sent).toEqual([[10, 20]]);
  });

  it('sends a full batch first rather than refusing the next packet', () => {
    const { tx, sent, send } = batch(1000, 2);
    tx.beginInbound();
    for (const len of [1, 2, 3]) send(len);
    tx.endInbound();
    expect(sent).toEqual([[1, 2], [3]]);
  });

  it('sends when the bytes run out, packed back to back', () => {
    const { tx, sent, send } = batch(250, 10);
    tx.beginInbound();
    expect([send(100), send(100), send(100)]).toEqual([0, 100, 0]);
    tx.endInbound();
    expect(sent).toEqual([[100, 100], [100]]);
  });

  it('refuses a packet larger than the MTU', () => {
    expect(batch(1000, 10).send(101)).toBe(-1);
  });

  it('refuses packets once closed', () => {
    const { tx, send } = batch(1000, 10);
    tx.close();
    expect(send(10)).toBe(-1);
  });

  it('coalesces packets queued outside an inbound batch into one send on the next turn', async () => {
    const { sent, send } = batch(1000, 10);
    send(1);
    send(2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toEqual([[1, 2]]);
  });
});
