/**
 * The other direction of hostile CoAP: what a device on the lamps' network may send the gateway.
 * 100,000 messages — the fuzzer's hostile CoAP, and LwM2M registrations, updates and
 * de-registrations with hostile endpoint names, lifetimes, locations and link-format bodies — into
 * the gateway's resource directory over a real registry: it
 * never throws, answers every confirmable request with an ACK or RST carrying its message id, and
 * registers only names that can be MQTT topic levels.
 */
import { describe, expect, it } from 'vitest';
import { ACK, CON, DELETE, NON, POST, coapReader, coapWriter, readCoap, writeBegin, writeEnd, writeOption, writePayload } from '../../protocol/coap.js';
import { ResourceDirectory } from '../../gateway/lamps/resource-directory.js';
import { LampRegistry } from '../../gateway/registry.js';
import { nameProblem } from '../../protocol/mqtt-topics.js';
import { Prng } from '../../sim/random.js';
import { writeHostileCoap } from '../../tools/fuzz/hostile-coap.js';

const MESSAGES = 100_000;
const NAMES = ['42', 'lamp-7', '', 'a/b', 'a+b', '#', '+', 'x'.repeat(64), 'x'.repeat(65), 'tab\there', 'nul\u0000', 'ünïcödé', '💡',
  'street 1', ' ', '%2F', 'é'.repeat(33)];
const LIFETIMES = ['300', '60', '0', '-1', '1e9', 'abc', '', '31536000', '31536001', '99999999999999999999', '12.5'];
const BODIES = ['</3311/0>', '</>;rt="oma.lwm2m";ct=110,</1/0>,</3/0>,</3305/0>,</3311/0>,</32311/0>', '</3311/0>,</3311/0>', '</3/0>',
  '</>;rt="oma.lwm2m";ct="x",</3311/0>', '<', '</3311/0>;' + 'a=1;'.repeat(20), '</3311/0>,' + '</9/0>,'.repeat(300) + '</9/1>', '', '\u00ff\u00fe', '{"g":5}'];
const LOCATIONS = ['0', '1', 'a', 'zz', '7ps', '-', 'ZZ', '999999999', '0'.repeat(9)];

/** A registration (POST /rd), update (POST /rd/<location>) or de-registration (DELETE) with
 * hostile parts, as a lamp would build it. */
function hostileRegistration(rng: Prng, out: Uint8Array): number {
  const w = coapWriter();
  const update = rng.chance(0.3);
  writeBegin(w, out, 0, rng.chance(0.8) ? CON : NON, update && rng.chance(0.3) ? DELETE : POST, rng.u32() & 0xffff, null, 0, rng.below(9));
  const name = rng.pick(NAMES);
  writeOption(w, 11, 'rd');
  if (update) writeOption(w, 11, rng.pick(LOCATIONS));
  if (rng.chance(0.5)) writeOption(w, 12, rng.chance(0.9) ? 40 : 50);
  if (!update && rng.chance(0.9)) writeOption(w, 15, new TextEncoder().encode(`ep=${name}`));
  if (rng.chance(0.6)) writeOption(w, 15, `lt=${rng.pick(LIFETIMES)}`);
  if (rng.chance(0.3)) writeOption(w, 15, `lwm2m=${rng.pick(['1.0', '1.1', '2.0', ''])}`);
  writePayload(w, new TextEncoder().encode(rng.pick(BODIES)));
  return writeEnd(w);
}

describe('hostile CoAP to the gateway', () => {
  it('takes 100,000 hostile messages without an exception, answers every CON, and registers only usable names', () => {
    const rng = new Prng(8);
    let now = Date.UTC(2026, 0, 1);
    const registry = new LampRegistry({ maxLamps: 1000 });
    const reader = coapReader();
    const answerReader = coapReader();
    let answered = -1;
    const drops = new Map<string, number>();
    const directory = new ResourceDirectory(registry, (_addr, _port, data) => {
      if (readCoap(answerReader, data, 0, data.length) && answerReader.type >= ACK) answered = answerReader.mid;
    }, {
      registered: () => {},
      updated: () => {},
      deregistered: () => {},
      dropped: (kind) => drops.set(kind, (drops.get(kind) ?? 0) + 1),
    }, { now: () => now });
    const buf = new Uint8Array(70_000);
    const unanswered: number[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const len = rng.chance(0.5) ? hostileRegistration(rng, buf) : writeHostileCoap(rng, buf, 0, rng.chance(0.99) ? 1400 : buf.length);
      now += rng.below(1000);
      if (len < 0 || !readCoap(reader, buf, 0, len) || reader.code >> 5 !== 0) continue;
      answered = -1;
      directory.handle(reader, `2001:db8:1::${rng.below(50).toString(16)}`, rng.pick([5683, 40000]));
      if (reader.type === CON && answered !== reader.mid && unanswered.length < 5) unanswered.push(i);
    }
    expect(unanswered).toEqual([]);
    expect(registry.size).toBeGreaterThan(0);
    for (let i = 0; i < registry.size; i++) expect(nameProblem('endpoint name', registry.id(i))).toBeNull();
    for (let i = 0; i < registry.size; i++) for (const g of registry.groupsOf(i)) expect(nameProblem('group', g)).toBeNull();
    expect(drops.get('bad-request')).toBeGreaterThan(0);
  });
});
