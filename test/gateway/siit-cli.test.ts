/** `lampnet gateway`'s board translator flags: what they become, and errors that name the flag. */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addBoardOptions, boardOptionsFrom } from '../../cli/gateway.js';

function parse(args: string[]) {
  const cmd = addBoardOptions(new Command('gateway')).exitOverride();
  cmd.parse(args, { from: 'user' });
  return boardOptionsFrom(cmd.opts());
}

describe('lampnet gateway --board-prefix', () => {
  it('is off unless a board prefix is given', () => {
    expect(parse([])).toBeNull();
  });

  it('takes the prefix, the client ranges, the TUN name and the ping policy', () => {
    expect(parse(['--board-prefix', '2001:db8:b0a:d::/96', '--board-clients', '10.77.1.0/24, 192.0.2.0/28', '--ping-when', 'lit']))
      .toEqual({ prefix: '2001:db8:b0a:d::/96', tun: 'lampboard%d', clientRanges: ['10.77.1.0/24', '192.0.2.0/28'], pingWhen: 'lit' });
  });

  it.each([
    [['--board-prefix', '2001:db8::/64', '--board-clients', '10.0.0.0/8'], /--board-prefix: board prefix "2001:db8::\/64" is not an IPv6 \/96 prefix/],
    [['--board-prefix', '2001:db8:b0a:d::/96'], /--board-prefix needs --board-clients/],
    [['--board-prefix', '2001:db8:b0a:d::/96', '--board-clients', '10.77.1.0'], /--board-clients must be IPv4 ranges like 192.0.2.0\/24, got "10.77.1.0"/],
    [['--board-prefix', '2001:db8:b0a:d::/96', '--board-clients', '10.0.0.0/8', '--ping-when', 'dark'], /--ping-when must be powered or lit, got "dark"/],
    [['--ping-when', 'lit'], /need --board-prefix/],
  ])('refuses %j, naming the flag', (args, message) => {
    expect(() => parse(args)).toThrow(message);
  });
});
