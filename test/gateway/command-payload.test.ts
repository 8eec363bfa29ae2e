/** What `.../set` accepts, and the reasons for what it does not. */
import { describe, expect, it } from 'vitest';
import { MAX_COMMAND_BYTES, parseCommandPayload } from '../../gateway/mqtt/command-payload.js';
import { mergeCommands } from '../../gateway/lamps/commander.js';

const parse = (text: string | Buffer) => parseCommandPayload(typeof text === 'string' ? Buffer.from(text) : text);

describe('command payloads', () => {
  it.each([
    ['ON', { on: true }],
    [' off\n', { on: false }],
    ['Toggle', { toggle: true }],
    ['0', { on: false }],
    ['42', { on: true, level: 42 }],
    ['100', { on: true, level: 100 }],
    ['0.4', { on: true, level: 1 }],
    ['{"state":"ON","brightness":100}', { on: true, level: 100 }],
    ['{"state":"ON","brightness":50}', { on: true, level: 50 }],
    ['{"state":"OFF"}', { on: false }],
    ['{"brightness":0}', { on: false, level: 0 }],
    ['{"on":true,"level":50,"transition":2}', { on: true, level: 50, fadeMs: 2000 }],
    ['{"on":false,"level":70}', { on: false, level: 70 }],
    ['{"level":20}', { on: true, level: 20 }],
    ['{"state":"TOGGLE","transition":0.5}', { toggle: true, fadeMs: 500 }],
  ])('accepts %j', (payload, command) => {
    expect(parse(payload)).toEqual({ ok: true, command });
  });

  it.each([
    ['', /empty/],
    ['BRIGHT', /not ON, OFF, TOGGLE/],
    ['101', /out of range/],
    ['-5', /out of range/],
    ['1e3', /not ON, OFF/],
    ['{"state":"ON"', /not valid JSON/],
    ['[1]', /must be an object/],
    ['{}', /no state, on, brightness or level/],
    ['{"state":1}', /not "ON", "OFF" or "TOGGLE"/],
    ['{"on":"yes"}', /not true, false, 0 or 1/],
    ['{"brightness":300}', /brightness 300 is out of range; expected 0-100/],
    ['{"level":"50"}', /level "50" is not a number/],
    ['{"state":"ON","on":true}', /'state' and 'on' both given/],
    ['{"brightness":10,"level":10}', /'brightness' and 'level' both given/],
    ['{"on":true,"transition":-1}', /transition -1/],
    ['{"on":true,"transition":99999}', /transition 99999/],
    ['{"on":true,"color":"red"}', /unknown field 'color'/],
  ])('rejects %j with a reason', (payload, reason) => {
    const result = parse(payload);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it('rejects invalid UTF-8', () => {
    expect(parse(Buffer.from([0x4f, 0x4e, 0xc3]))).toEqual({ ok: false, reason: 'payload is not valid UTF-8' });
  });

  it(`rejects payloads over ${MAX_COMMAND_BYTES} bytes without reading them`, () => {
    expect(parse(Buffer.alloc(MAX_COMMAND_BYTES + 1, 0x31))).toEqual({ ok: false, reason: `payload is ${MAX_COMMAND_BYTES + 1} bytes; the limit is ${MAX_COMMAND_BYTES}` });
    expect(parse(Buffer.from(`${' '.repeat(MAX_COMMAND_BYTES - 2)}ON`)).ok).toBe(true);
  });
});

describe('merging waiting commands (latest wins per field)', () => {
  it('keeps fields the later command does not set', () => {
    expect(mergeCommands({ on: true, level: 30 }, { level: 60 })).toEqual({ on: true, level: 60 });
  });
  it('applies a toggle to what the earlier command set', () => {
    expect(mergeCommands({ on: true }, { toggle: true })).toEqual({ on: false });
  });
  it('lets two toggles cancel', () => {
    expect(mergeCommands({ toggle: true }, { toggle: true })).toEqual({});
  });
  it('lets an explicit on/off replace a waiting toggle', () => {
    expect(mergeCommands({ toggle: true, level: 5 }, { on: false })).toEqual({ on: false, level: 5 });
  });
});
