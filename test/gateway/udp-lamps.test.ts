/**
 * The gateway with real firmware lamps on real UDP sockets (IPv4 on 127.0.0.1, seen by the
 * gateway's dual-stack socket as ::ffff:127.0.0.1), real embedded aedes, real mqtt.js clients.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from './helpers/eventually.js';
import { type Fixture, metricValue, startFixture } from './helpers/gateway-fixture.js';
import type { FleetStats, LampStateDocument } from '../../protocol/mqtt-topics.js';
import { FIRMWARE_VERSION_TEXT as FIRMWARE_VERSION } from '../../firmware/resources.js';


let fixture: Fixture | null = null;
afterEach(async () => {
  await fixture?.close();
  fixture = null;
});

const streets = (config: { groups: string }, n: number): void => {
  config.groups = n <= 2 ? 'north,all' : 'south,all';
};

describe('gateway with firmware lamps on UDP', () => {
  it('publishes a registered IPv4 lamp as online with its retained state under its IPv4-mapped address', async () => {
    fixture = await startFixture(3, { configure: streets });
    const { watcher } = fixture;
    await fixture.allOnline();
    const state = await watcher.json<LampStateDocument>('lampnet/lamps/2/state');
    expect(state).toMatchObject({ on: false, fault: false, address: '::ffff:127.0.0.1', groups: ['north', 'all'], state: 'OFF' });
    expect(Date.parse(state.updatedAt)).not.toBeNaN();
    expect(watcher.last.get('lampnet/gateway/status')).toBe('online');
  });

  it('names lamps the same way when the CoAP socket is IPv4-only (--coap-host 127.0.0.1)', async () => {
    fixture = await startFixture(2, { gateway: { coapHost: '127.0.0.1' } });
    const { watcher, lamps } = fixture;
    await fixture.allOnline();
    expect((await watcher.json<LampStateDocument>('lampnet/lamps/1/state')).address).toBe('::ffff:127.0.0.1');
    await watcher.publish('lampnet/lamps/1/set', 'ON');
    await watcher.json<LampStateDocument>('lampnet/lamps/1/state', (s) => s.on);
    expect(lamps.state(1).on).toBe(true);
  });

  it('keeps state and availability retained for a client that subscribes later', async () => {
    fixture = await startFixture(1);
    await fixture.allOnline();
    const { watch } = await import('./helpers/mqtt-watch.js');
    const late = await watch(fixture.gateway.mqttUrl, ['lampnet/lamps/1/#']);
    try {
      await late.until('retained availability and state', () => late.last.get('lampnet/lamps/1/availability') === 'online' && late.last.has('lampnet/lamps/1/state'));
    } finally {
      await late.close();
    }
  });

  it('turns on exactly the lamp named in lampnet/lamps/<id>/set', async () => {
    fixture = await startFixture(3);
    const { watcher, lamps } = fixture;
    await fixture.allOnline();
    await watcher.publish('lampnet/lamps/2/set', 'ON');
    const state = await watcher.json<LampStateDocument>('lampnet/lamps/2/state', (s) => s.on);
    expect(state.on).toBe(true);
    expect([1, 2, 3].map((n) => lamps.state(n).on)).toEqual([false, true, false]);
    expect(JSON.parse(watcher.last.get('lampnet/lamps/1/state')!).on).toBe(false);
  });

  it('dims a lamp with a number and with Home Assistant JSON brightness', async () => {
    fixture = await startFixture(2);
    const { watcher, lamps } = fixture;
    await fixture.allOnline();
    await watcher.publish('lampnet/lamps/1/set', '30');
    await watcher.json<LampStateDocument>('lampnet/lamps/1/state', (s) => s.on && s.level === 30);
    await watcher.publish('lampnet/lamps/2/set', '{"state":"ON","brightness":50}');
    await watcher.json<LampStateDocument>('lampnet/lamps/2/state', (s) => s.on && s.level === 50 && s.brightness === 50);
    expect(lamps.state(1).level).toBe(30);
    expect(lamps.state(2).level).toBe(50);
  });

  it('reports the watts the lamp measures after it confirms a command', async () => {
    fixture = await startFixture(1);
    const { watcher } = fixture;
    await fixture.allOnline();
    await watcher.publish('lampnet/lamps/1/set', '{"on":true,"level":100}');
    const state = await watcher.json<LampStateDocument>('lampnet/lamps/1/state', (s) => s.on && s.watts === 60);
    expect(state.watts).toBe(60);
  });

  it('toggles a lamp from its last known state', async () => {
    fixture = await startFixture(1);
    const { watcher } = fixture;
    await fixture.allOnline();
    await watcher.publish('lampnet/lamps/1/set', 'TOGGLE');
    await watcher.json<LampStateDocument>('lampnet/lamps/1/state', (s) => s.on);
    await watcher.publish('lampnet/lamps/1/set', 'toggle');
    await watcher.json<LampStateDocument>('lampnet/lamps/1/state', (s) => !s.on);
  });

  it('sends a group command to every member of the group and to no other lamp', async () => {
    fixture = await startFixture(4, { configure: streets });
    const { watcher, lamps } = fixture;
    await fixture.allOnline();
    await watcher.publish('lampnet/groups/north/set', 'ON');
    await watcher.until('lamps 1 and 2 on', () => [1, 2].every((n) => JSON.parse(watcher.last.get(`lampnet/lamps/${n}/state`)!).on));
    expect([1, 2, 3, 4].map((n) => lamps.state(n).on)).toEqual([true, true, false, false]);
  });

  it('registers lamps whose id and groups are not ASCII, set from JavaScript, and publishes and commands them under those names', async () => {
    // U+00DF fits one byte of an 8-bit string and U+5317 does not: each must reach the wire as UTF-8.
    const names: Record<number, { id: string; groups: string }> = { 1: { id: 'Straße-1', groups: 'Hauptstraße-Nord' }, 2: { id: '2', groups: '北区,Hauptstraße-Nord' } };
    fixture = await startFixture(2, { configure: (config, n) => Object.assign(config, names[n]) });
    const { watcher, lamps } = fixture;
    await watcher.until('both lamps online with their state', () => ['Straße-1', '2'].every((id) => watcher.last.get(`lampnet/lamps/${id}/availability`) === 'online' && watcher.last.has(`lampnet/lamps/${id}/state`)));
    expect(await watcher.json<LampStateDocument>('lampnet/lamps/Straße-1/state')).toMatchObject({ groups: ['Hauptstraße-Nord'] });
    expect(await watcher.json<LampStateDocument>('lampnet/lamps/2/state')).toMatchObject({ groups: ['北区', 'Hauptstraße-Nord'] });
    expect(metricValue(await fixture.metrics(), 'lampnet_gateway_coap_dropped_total{reason="bad-request"}')).toBe(0);
    await watcher.publish('lampnet/groups/北区/set', 'ON');
    await watcher.until('lamp 2 on', () => JSON.parse(watcher.last.get('lampnet/lamps/2/state')!).on);
    await watcher.publish('lampnet/lamps/Straße-1/set', '40');
    await watcher.until('Straße-1 at 40', () => JSON.parse(watcher.last.get('lampnet/lamps/Straße-1/state')!).level === 40);
    expect([lamps.state(1), lamps.state(2)].map((s) => [s.on, s.level])).toEqual([[true, 40], [true, 100]]);
    expect(await watcher.json<FleetStats>('lampnet/groups/Hauptstraße-Nord/stats', (s) => s.on === 2)).toMatchObject({ lamps: 2, online: 2 });
  });

  it('publishes fleet and group aggregates', async () => {
    fixture = await startFixture(4, { configure: streets, gateway: { statsIntervalMs: 100 } });
    const { watcher } = fixture;
    await fixture.allOnline();
    await watcher.publish('lampnet/lamps/3/set', 'ON');
    const fleet = await watcher.json<FleetStats>('lampnet/stats', (s) => s.on === 1 && s.watts > 60);
    expect(fleet).toMatchObject({ lamps: 4, online: 4, offline: 0, on: 1, off: 3, fault: 0 });
    expect(fleet.watts).toBeCloseTo(60 + 3 * 0.5, 5);
    const south = await watcher.json<FleetStats>('lampnet/groups/south/stats', (s) => s.on === 1);
    expect(south).toMatchObject({ lamps: 2, online: 2, on: 1, off: 1 });
    const north = await watcher.json<FleetStats>('lampnet/groups/north/stats');
    expect(north).toMatchObject({ lamps: 2, online: 2, on: 0, off: 2 });
  });

  it('republishes fleet stats every period but a group\'s stats only when they change', async () => {
    fixture = await startFixture(4, { configure: streets, gateway: { statsIntervalMs: 50 } });
    const { watcher } = fixture;
    await fixture.allOnline();
    await watcher.json<FleetStats>('lampnet/groups/north/stats', (s) => s.online === 2);
    const fleetBefore = watcher.count('lampnet/stats');
    const northBefore = watcher.count('lampnet/groups/north/stats');
    await watcher.until('five more fleet stats', () => watcher.count('lampnet/stats') >= fleetBefore + 5);
    expect(watcher.count('lampnet/groups/north/stats')).toBe(northBefore);
    await watcher.publish('lampnet/lamps/1/set', 'ON');
    await watcher.json<FleetStats>('lampnet/groups/north/stats', (s) => s.on === 1);
  });

  it('turns a lamp offline when its lifetime lapses and online again when it registers anew', async () => {
    // Only lamp 1 has a short lifetime: lamp 2, the one that must stay online, has ample time for
    // its updates however loaded the machine is.
    fixture = await startFixture(2, {
      configure: (config, n) => { config.lifetimeS = n === 1 ? 2 : 300; },
      gateway: { lifetimeGraceMs: 200, sweepIntervalMs: 100 },
    });
    const { watcher, lamps } = fixture;
    await fixture.allOnline();
    const availability1 = (from: number, payload: string) => watcher.log.slice(from).some((m) => m.topic === 'lampnet/lamps/1/availability' && m.payload === payload);
    const killedAt = watcher.log.length;
    lamps.kill(1);
    await watcher.until('lamp 1 offline', () => availability1(killedAt, 'offline'));
    const revivedAt = watcher.log.length;
    lamps.revive(1);
    await watcher.until('lamp 1 online again', () => availability1(revivedAt, 'online'));
    expect(watcher.log.filter((m) => m.topic === 'lampnet/lamps/2/availability').map((m) => m.payload)).toEqual(['online']);
    expect(fixture.gateway.registry.size).toBe(2);
  });

  it('reports a command the lamp never confirms as a timeout on the errors topic', async () => {
    fixture = await startFixture(1, { gateway: { ackTimeoutMs: 50 } });
    const { watcher, lamps } = fixture;
    await fixture.allOnline();
    lamps.kill(1);
    await watcher.publish('lampnet/lamps/1/set', 'ON');
    const report = await watcher.json<{ kind: string; lamp: string; topic: string; reason: string }>('lampnet/gateway/errors', (e) => e.kind === 'timeout');
    expect(report).toMatchObject({ kind: 'timeout', lamp: '1', topic: 'lampnet/lamps/1/set' });
    const text = await fixture.metrics();
    expect(metricValue(text, 'lampnet_gateway_command_timeouts_total')).toBe(1);
    expect(metricValue(text, 'lampnet_gateway_coap_retransmissions_total')).toBe(4);
    expect(JSON.parse(watcher.last.get('lampnet/lamps/1/state')!).on).toBe(false);
  });

  it('counts registrations and commands in the Prometheus metrics', async () => {
    fixture = await startFixture(3);
    const { watcher } = fixture;
    await fixture.allOnline();
    await watcher.publish('lampnet/lamps/1/set', 'ON');
    await watcher.json<LampStateDocument>('lampnet/lamps/1/state', (s) => s.on);
    const text = await fixture.metrics();
    expect(metricValue(text, 'lampnet_gateway_registrations_total')).toBe(3);
    expect(metricValue(text, 'lampnet_gateway_lamps_online')).toBe(3);
    expect(metricValue(text, 'lampnet_gateway_commands_total{target="lamp"}')).toBe(1);
    expect(metricValue(text, 'lampnet_gateway_command_deliveries_total{result="confirmed"}')).toBe(1);
    expect(metricValue(text, 'lampnet_gateway_mqtt_publishes_total{kind="state"}')).toBeGreaterThanOrEqual(4);
  });

  it('announces every lamp and street group to Home Assistant with --ha-discovery', async () => {
    fixture = await startFixture(2, { gateway: { haDiscovery: true }, configure: (config) => { config.groups = 'Street 1'; } });
    const config = await fixture.watcher.json<Record<string, unknown>>('homeassistant/light/2/config');
    expect(config).toEqual({
      name: null,
      unique_id: 'lampnet_2',
      default_entity_id: 'light.lampnet_2',
      schema: 'json',
      command_topic: 'lampnet/lamps/2/set',
      state_topic: 'lampnet/lamps/2/state',
      payload_available: 'online',
      payload_not_available: 'offline',
      supported_color_modes: ['brightness'],
      brightness_scale: 100,
      availability: [{ topic: 'lampnet/gateway/status' }, { topic: 'lampnet/lamps/2/availability' }],
      availability_mode: 'all',
      device: { identifiers: ['lampnet_2'], name: 'Lamp 2', manufacturer: 'lampnet', model: 'street lamp', sw_version: FIRMWARE_VERSION },
    });
    const group = await fixture.watcher.json<Record<string, unknown>>('homeassistant/light/lampnet-group-Street 1/config');
    expect(group).toMatchObject({
      unique_id: 'lampnet_group_Street 1',
      default_entity_id: 'light.lampnet_group_street_1',
      command_topic: 'lampnet/groups/Street 1/set',
      brightness_scale: 100,
      availability: [{ topic: 'lampnet/gateway/status' }],
    });
    expect(group).not.toHaveProperty('state_topic');
  });
});

describe('commands right after the gateway starts', () => {
  it('holds a command for a lamp that has not registered yet and delivers it when it does', async () => {
    const { startGateway } = await import('../../gateway/gateway.js');
    const { EPHEMERAL } = await import('./helpers/gateway-fixture.js');
    const { watch } = await import('./helpers/mqtt-watch.js');
    const { startUdpLamps } = await import('./helpers/udp-lamps.js');
    const gateway = await startGateway({ ...EPHEMERAL, commandHoldMs: 30_000 });
    const watcher = await watch(gateway.mqttUrl, ['lampnet/#']);
    let lamps: Awaited<ReturnType<typeof startUdpLamps>> | null = null;
    try {
      await watcher.publish('lampnet/lamps/1/set', 'ON');
      // A bad command after it as a fence: once its error is out, the gateway has taken the ON.
      await watcher.publish('lampnet/lamps/1/set', 'fence');
      await watcher.json<{ kind: string }>('lampnet/gateway/errors', (e) => e.kind === 'payload');
      expect(gateway.registry.size).toBe(0);
      lamps = await startUdpLamps(1, { gatewayPort: gateway.coapPort! });
      await watcher.json<LampStateDocument>('lampnet/lamps/1/state', (s) => s.on);
      expect(lamps.state(1).on).toBe(true);
      expect(watcher.log.filter((m) => m.topic === 'lampnet/gateway/errors')).toHaveLength(1);
    } finally {
      await watcher.close();
      await lamps?.close();
      await gateway.close();
    }
  });

  it('reports a held command as unknown-lamp when no such lamp registers in time', async () => {
    fixture = await startFixture(1, { gateway: { commandHoldMs: 500, sweepIntervalMs: 50 } });
    await fixture.watcher.publish('lampnet/lamps/nobody/set', 'ON');
    const report = await fixture.watcher.json<{ kind: string; lamp: string }>('lampnet/gateway/errors');
    expect(report).toMatchObject({ kind: 'unknown-lamp', lamp: 'nobody' });
  });
});

describe('gateway restart', () => {
  it('learns every lamp again from its next update (4.04, then registration) without duplicates', async () => {
    const { startGateway } = await import('../../gateway/gateway.js');
    const { EPHEMERAL } = await import('./helpers/gateway-fixture.js');
    const { watch } = await import('./helpers/mqtt-watch.js');
    const { startUdpLamps } = await import('./helpers/udp-lamps.js');
    const first = await startGateway({ ...EPHEMERAL });
    const port = first.coapPort!;
    const lamps = await startUdpLamps(3, { gatewayPort: port, configure: (c) => { c.lifetimeS = 2; } });
    let second: Awaited<ReturnType<typeof startGateway>> | null = null;
    let watcher: Awaited<ReturnType<typeof watch>> | null = null;
    try {
      await eventually('3 lamps registered with the first gateway', () => first.registry.onlineCount === 3);
      await first.close();
      second = await startGateway({ ...EPHEMERAL, coapPort: port });
      watcher = await watch(second.mqttUrl, ['lampnet/#']);
      const w = watcher;
      await w.until('3 lamps online again', () => [1, 2, 3].every((n) => w.last.get(`lampnet/lamps/${n}/availability`) === 'online'));
      expect(second.registry.size).toBe(3);
      const stats = await w.json<{ lamps: number; online: number }>('lampnet/stats', (s) => s.online === 3);
      expect(stats.lamps).toBe(3);
    } finally {
      await watcher?.close();
      await lamps.close();
      await second?.close();
    }
  });
});
