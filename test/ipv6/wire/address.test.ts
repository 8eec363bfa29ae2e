import { describe, expect, it } from 'vitest';
import { formatIpv6, inPrefix, isMulticast, parseIpv6 } from '../../../ipv6/wire/address.js';
import { hex } from '../../sim/captured.js';

describe('IPv6 address text', () => {
  it('parses a compressed address', () => {
    expect(parseIpv6('2001:db8::2a')).toEqual(hex('20010db800000000000000000000002a'));
  });

  it('parses the full, unspecified and trailing-compressed forms', () => {
    expect(parseIpv6('2001:db8:0:0:1:2:3:4')).toEqual(hex('20010db8000000000001000200030004'));
    expect(parseIpv6('::')).toEqual(new Uint8Array(16));
    expect(parseIpv6('fd6c:616d:706e::')).toEqual(hex('fd6c616d706e00000000000000000000'));
  });

  it('parses an IPv4-mapped address', () => {
    expect(parseIpv6('::ffff:192.0.2.1')).toEqual(hex('00000000000000000000ffffc0000201'));
  });

  it.each(['', ':', '1:::2', '1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1',
    '::1.2.3', '::256.1.1.1', '1:2:3:4:5:6:7::8', 'fe80::1%eth0', '2001:db8::/64'])(
    'rejects %j', (text) => {
      expect(parseIpv6(text)).toBeNull();
    });

  it('formats in the RFC 5952 canonical form', () => {
    expect(formatIpv6(hex('20010db800000000000000000000002a'))).toBe('2001:db8::2a');
    expect(formatIpv6(hex('20010db8000000010000000000000001'))).toBe('2001:db8:0:1::1');
    expect(formatIpv6(hex('20010db8000000000001000000000001'))).toBe('2001:db8::1:0:0:1');
    expect(formatIpv6(hex('20010db8000100010001000100010001'))).toBe('2001:db8:1:1:1:1:1:1');
    expect(formatIpv6(new Uint8Array(16))).toBe('::');
    expect(formatIpv6(hex('fd6c616d706e0000ffff000000000001'))).toBe('fd6c:616d:706e:0:ffff::1');
  });

  it('round-trips text through bytes', () => {
    for (const text of ['ff15::1:8a3c:12ef', '::1', '1::', 'fe80::1:2:3:4']) {
      expect(formatIpv6(parseIpv6(text)!)).toBe(text);
    }
  });

  it('recognizes multicast by its first byte', () => {
    expect(isMulticast(parseIpv6('ff02::1')!, 0)).toBe(true);
    expect(isMulticast(parseIpv6('fd00::1')!, 0)).toBe(false);
  });

  it('tests prefix membership by whole bytes and by the bits of a partial byte', () => {
    const at = (text: string, prefix: string, bits: number) => inPrefix(parseIpv6(text)!, 0, parseIpv6(prefix)!, bits);
    expect(at('2001:db8::2a', '2001:db8::', 64)).toBe(true);
    expect(at('2001:db8:0:1::2a', '2001:db8::', 64)).toBe(false);
    expect(at('2001:db8:0:f::1', '2001:db8::', 60)).toBe(true);
    expect(at('2001:db8:0:10::1', '2001:db8::', 60)).toBe(false);
    expect(at('2001:db8::1', '2001:db8::1', 128)).toBe(true);
    expect(at('2001:db8::2', '2001:db8::1', 128)).toBe(false);
    expect(at('fe80::1', '2001:db8::', 0)).toBe(true);
  });
});
