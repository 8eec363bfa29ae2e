/** `lampnet gateway`: every option in --help, defaults, and errors that name the option. */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addGatewayOptions, gatewayOptionsFrom, registerGatewayCommand } from '../../cli/gateway.js';
import { DEFAULT_GATEWAY_OPTIONS } from '../../gateway/gateway.js';

function parse(args: string[]) {
  const cmd = addGatewayOptions(new Command('gateway')).exitOverride();
  cmd.parse(args, { from: 'user' });
  return gatewayOptionsFrom(cmd.opts());
}

describe('lampnet gateway', () => {
  it('lists every option of issue 5 in --help', () => {
    const program = new Command('lampnet');
    registerGatewayCommand(program);
    const help = program.commands.find((c) => c.name() === 'gateway')!.helpInformation();
    for (const option of ['--mqtt ', '--mqtt-username', '--mqtt-password', '--mqtt-port', '--ws-port', '--broker-user', '--broker-password', '--mqtt-max-packet', '--metrics-port', '--stats-interval', '--ha-discovery', '--coap-port', '--multicast-interface']) {
      expect(help, option).toContain(option);
    }
  });

  it('defaults to the embedded broker on 1883, WebSocket 9001, metrics 9464, CoAP 5683', () => {
    const o = parse([]);
    expect(o).toMatchObject({ mqttUrl: null, mqttPort: 1883, wsPort: 9001, metricsPort: 9464, coapPort: 5683, statsIntervalMs: 500, haDiscovery: false, brokerCredentials: null });
  });

  it('takes an external broker with credentials', () => {
    const o = parse(['--mqtt', 'mqtt://broker.example:1884', '--mqtt-username', 'gw', '--mqtt-password', 'pw']);
    expect(o).toMatchObject({ mqttUrl: 'mqtt://broker.example:1884', mqttUsername: 'gw', mqttPassword: 'pw' });
  });

  it('turns services off with "off" and converts seconds to milliseconds', () => {
    const o = parse(['--ws-port', 'off', '--metrics-port', 'off', '--stats-interval', '2', '--ack-timeout', '0.1']);
    expect(o).toMatchObject({ wsPort: null, metricsPort: null, statsIntervalMs: 2000, ackTimeoutMs: 100 });
  });

  it('limits packets from embedded-broker clients to 64 KiB unless --mqtt-max-packet says otherwise', () => {
    expect(parse([]).mqttMaxPacketBytes).toBe(65_536);
    expect(parse(['--mqtt-max-packet', '1048576']).mqttMaxPacketBytes).toBe(1_048_576);
  });

  it('takes embedded-broker credentials as a pair', () => {
    expect(parse(['--broker-user', 'a', '--broker-password', 'b']).brokerCredentials).toEqual({ username: 'a', password: 'b' });
    expect(() => parse(['--broker-user', 'a'])).toThrow('--broker-user and --broker-password go together');
  });

  it.each([
    [['--mqtt-port', '70000'], /--mqtt-port must be a whole port number 0-65535, got "70000"/],
    [['--ws-port', 'abc'], /--ws-port must be a whole port number 0-65535 or "off", got "abc"/],
    [['--mqtt-port', 'off'], /--mqtt-port must be a whole port number 0-65535, got "off"/],
    [['--stats-interval', '0'], /--stats-interval must be a number from 0.05/],
    [['--mqtt-max-packet', '0'], /--mqtt-max-packet must be a whole number from 1 to 268435455, got "0"/],
    [['--mqtt-max-packet', '1.5'], /--mqtt-max-packet must be a whole number from 1 to 268435455, got "1.5"/],
    [['--mqtt-max-packet', '64k'], /--mqtt-max-packet must be a whole number/],
    [['--mqtt', 'localhost:1883'], /--mqtt must be a broker URL such as mqtt:\/\/localhost:1883/],
    [['--mqtt', 'mqtt://h', '--broker-user', 'a', '--broker-password', 'b'], /configure the embedded broker/],
  ])('rejects %j naming the option', (args, message) => {
    expect(() => parse(args)).toThrow(message);
  });

  it('keeps the library defaults and the CLI defaults the same', () => {
    const o = parse([]);
    expect({ ...o, dashboardDir: null }).toEqual({ ...DEFAULT_GATEWAY_OPTIONS, dashboardDir: null });
  });
});
