/**
 * The CoAP client the printed hints name is the one on this machine's PATH: libcoap's client is
 * `coap-client-notls` (or another TLS variant) on Debian and `coap-client` elsewhere. Real
 * directories with real executable files on a PATH made for the test.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { coapClientName } from '../../cli/sim.js';

const root = mkdtempSync(path.join(tmpdir(), 'lampnet-path-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A directory holding executables with these names. */
function dirWith(name: string, executables: string[]): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const exe of executables) {
    writeFileSync(path.join(dir, exe), '#!/bin/sh\n', { flag: 'w' });
    chmodSync(path.join(dir, exe), 0o755);
  }
  return dir;
}

describe('coapClientName', () => {
  it('names coap-client-notls where that is the only client, as on Debian', () => {
    expect(coapClientName(dirWith('debian', ['coap-client-notls']))).toBe('coap-client-notls');
  });

  it('prefers plain coap-client where the machine has it', () => {
    const a = dirWith('a', ['coap-client-gnutls']);
    const b = dirWith('b', ['coap-client']);
    expect(coapClientName([a, b].join(path.delimiter))).toBe('coap-client');
  });

  it('ignores a file of that name that is not executable', () => {
    const dir = path.join(root, 'plain');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'coap-client'), 'not a program\n');
    chmodSync(path.join(dir, 'coap-client'), 0o644);
    expect(coapClientName([dir, dirWith('tls', ['coap-client-openssl'])].join(path.delimiter))).toBe('coap-client-openssl');
  });

  it("falls back to Debian's name when no client is installed", () => {
    expect(coapClientName(path.join(root, 'nothing'))).toBe('coap-client-notls');
  });
});
