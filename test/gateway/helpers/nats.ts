/**
 * A real NATS server (the Debian package) with its MQTT listener on free loopback ports: a broker
 * that speaks only MQTT 3.1.1, as some deployed brokers still do. Config and JetStream store in a
 * temp directory; stopped by its PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { accepting, freePort } from './mosquitto.js';

export interface NatsMqtt {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startNatsMqtt(): Promise<NatsMqtt> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lampnet-nats-'));
  const [natsPort, mqttPort] = [await freePort(), await freePort()];
  const config = path.join(dir, 'nats.conf');
  // MQTT in NATS needs JetStream (it keeps sessions and retained messages there) and a server name.
  writeFileSync(config, [
    'server_name: lampnet-test', `listen: 127.0.0.1:${natsPort}`,
    `jetstream { store_dir: "${path.join(dir, 'js')}" }`, `mqtt { listen: 127.0.0.1:${mqttPort} }`, '',
  ].join('\n'));
  const proc: ChildProcess = spawn('nats-server', ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout?.on('data', (d) => { output += d; });
  proc.stderr?.on('data', (d) => { output += d; });
  const deadline = Date.now() + 20_000;
  while (!(await accepting(mqttPort))) {
    if (proc.exitCode !== null) throw new Error(`nats-server exited with ${proc.exitCode}: ${output}`);
    if (Date.now() > deadline) throw new Error(`nats-server did not listen for MQTT on ${mqttPort} within 20 s: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `mqtt://127.0.0.1:${mqttPort}`,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
        process.kill(proc.pid!, 'SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
