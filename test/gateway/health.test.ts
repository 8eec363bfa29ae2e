/**
 * The probes on the metrics port, asked with curl: /healthz while the process lives, /readyz only
 * while the fleet is registered and the broker connected. Real gateway, real firmware lamps on UDP,
 * real embedded aedes or a real Mosquitto that is stopped under the gateway.
 */
import { execFile } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type GatewayHandle } from '../../gateway/gateway.js';
import { EPHEMERAL } from './helpers/gateway-fixture.js';
import { startMosquitto, type Mosquitto } from './helpers/mosquitto.js';
import { startUdpLamps, type UdpLamps } from './helpers/udp-lamps.js';

interface Answer {
  status: number;
  body: string;
}

/** `curl` the gateway's metrics port: the status code and the body. */
function curl(gateway: GatewayHandle, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-s', '-w', '\n%{http_code}', `http://127.0.0.1:${gateway.metricsPort}${path}`], { timeout: 10_000 }, (err, stdout) => {
      if (err) return reject(new Error(`curl ${path} failed: ${err.message}`));
      const cut = stdout.lastIndexOf('\n');
      resolve({ body: stdout.slice(0, cut).trimEnd(), status: Number(stdout.slice(cut + 1)) });
    });
  });
}

/** Ask again until the answer satisfies `check`, within a bound (readiness has no event to wait on). */
async function curlUntil(gateway: GatewayHandle, path: string, check: (a: Answer) => boolean, timeoutMs = 20_000): Promise<Answer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await curl(gateway, path);
    if (check(answer)) return answer;
    if (Date.now() > deadline) throw new Error(`${path} never satisfied the condition in ${timeoutMs} ms; last: ${answer.status} ${answer.body}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let gateway: GatewayHandle | null = null;
let lamps: UdpLamps | null = null;
let mosquitto: Mosquitto | null = null;
afterEach(async () => {
  await lamps?.close();
  await gateway?.close();
  await mosquitto?.stop();
  lamps = gateway = mosquitto = null;
});

describe('/healthz and /readyz on the metrics port', () => {
  it('answers /healthz 200 ok, and /readyz 503 until every lamp of a fleet of known size has registered, then 200', async () => {
    gateway = await startGateway({ ...EPHEMERAL, fleetSize: 2 });
    expect(await curl(gateway, '/healthz')).toEqual({ status: 200, body: 'ok' });
    const waiting = await curl(gateway, '/readyz');
    expect(waiting.status).toBe(503);
    expect(JSON.parse(waiting.body)).toEqual({ ready: false, checks: { mqtt: 'connected', lamps: '0 of 2 registered, 0 online; still registering' } });

    lamps = await startUdpLamps(2, { gatewayPort: gateway.coapPort! });
    const ready = await curlUntil(gateway, '/readyz', (a) => a.status === 200);
    expect(JSON.parse(ready.body)).toEqual({ ready: true, checks: { mqtt: 'connected', lamps: '2 of 2 registered, 2 online; registration complete' } });
  });

  it('answers /readyz 503 naming the broker once the external broker is gone, while /healthz stays 200', async () => {
    mosquitto = await startMosquitto();
    gateway = await startGateway({ ...EPHEMERAL, mqttUrl: mosquitto.url, clientId: 'lampnet-health' });
    await curlUntil(gateway, '/readyz', (a) => a.status === 200);
    await mosquitto.stop();
    mosquitto = null;
    const lost = await curlUntil(gateway, '/readyz', (a) => a.status === 503);
    expect(JSON.parse(lost.body)).toMatchObject({ ready: false, checks: { mqtt: 'not connected' } });
    expect((await curl(gateway, '/healthz')).status).toBe(200);
  });

  it('answers any other path 404 naming what is served', async () => {
    gateway = await startGateway({ ...EPHEMERAL });
    expect(await curl(gateway, '/health')).toEqual({ status: 404, body: 'not found: /health; served here: /metrics, /healthz, /readyz' });
  });
});
