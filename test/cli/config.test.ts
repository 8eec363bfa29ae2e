/**
 * Settings from a --config file (JSON or YAML, the flags' names) and LAMPNET_* variables, through
 * the built CLI as a child process: a flag wins over the environment, which wins over the file,
 * which wins over the default; `--print-config` shows the merge; a city runs from a file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { run, type RunningProcess } from '../../bench/process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'lampnet-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** `lampnet <args>` with exactly `env` as LAMPNET_* variables (none inherited from the test's). */
function lampnet(args: string[], env: Record<string, string> = {}): RunningProcess {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LAMPNET_')));
  return run(process.execPath, ['dist/cli/lampnet.js', ...args], { cwd: ROOT, env: { ...clean, ...env } });
}

async function output(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; lines: string[] }> {
  const p = lampnet(args, env);
  const { code } = await p.exited;
  return { code, lines: p.lines };
}

describe('lampnet up --print-config', () => {
  it('merges flag over LAMPNET_* over the YAML file over the default, and says where each setting came from', async () => {
    const config = file('city.yaml', 'lamps: 5000\nmqtt-port: 1884\nstreet-size: 50\nha-discovery: true\ntrust: [2001:db8:1::/64, 2001:db8:2::/64]\nbroker-user: city\nbroker-password: s3cret\n');
    const { code, lines } = await output(['up', '--config', config, '--print-config', '--lamps', '20'], { LAMPNET_MQTT_PORT: '1885', LAMPNET_STREET_SIZE: '25' });
    expect(code, lines.join('\n')).toBe(0);
    expect(lines).toEqual(expect.arrayContaining([
      'lamps: 20  # flag',
      'mqtt-port: 1885  # LAMPNET_MQTT_PORT',
      'street-size: 25  # LAMPNET_STREET_SIZE',
      'ha-discovery: true  # config file',
      'trust: [ 2001:db8:1::/64, 2001:db8:2::/64 ]  # config file',
      'broker-user: city  # config file',
      'broker-password: <hidden>  # config file',
      'ws-port: 9001  # default',
    ]));
  });

  it('reads a JSON file named by LAMPNET_CONFIG too, and takes LAMPNET_* booleans as true or false', async () => {
    const config = file('city.json', JSON.stringify({ lamps: 7, 'ws-port': 'off', 'ha-discovery': true }));
    const { code, lines } = await output(['up', '--print-config'], { LAMPNET_CONFIG: config, LAMPNET_HA_DISCOVERY: 'false' });
    expect(code, lines.join('\n')).toBe(0);
    expect(lines).toEqual(expect.arrayContaining(['lamps: 7  # config file', 'ws-port: off  # config file', 'ha-discovery: false  # LAMPNET_HA_DISCOVERY']));
  });
});

describe('a city run from a config file', () => {
  it('lampnet up --config city.yaml runs the fleet the file describes, on the ports the environment gives', async () => {
    const config = file('run.yaml', 'lamps: 12\nmqtt-port: 1\nws-port: off\nmetrics-port: off\n');
    const up = lampnet(['up', '--config', config], { LAMPNET_MQTT_PORT: '0' });
    try {
      await up.waitForLine(/^ready$/, 60_000);
      expect(up.lines[0]).toMatch(/^lampnet up: 12 lamps of /);
      expect(up.lines.join('\n')).toMatch(/^MQTT +mqtt:\/\/127\.0\.0\.1:(?!1\b)\d+ /m);
      up.signal('SIGINT');
      expect(await up.exited).toEqual({ code: 0, signal: null });
    } finally {
      await up.kill();
    }
  });
});

describe('refusals', () => {
  it('refuses an unknown key naming the file, the key and the names it knows, with exit code 1', async () => {
    const config = file('typo.yaml', 'lamp: 10\n');
    const { code, lines } = await output(['up', '--config', config]);
    expect(code).toBe(1);
    expect(lines[0]).toMatch(new RegExp(`^lampnet: ${config}: unknown setting "lamp"; expected one of the flags' names: lamps, prefix, `));
  });

  it('refuses a value of the wrong kind naming the file and the key', async () => {
    const config = file('kind.yaml', 'ha-discovery: "yes please"\n');
    expect(await output(['gateway', '--config', config])).toEqual({ code: 1, lines: [`lampnet: ${config}: ha-discovery must be true or false, got "yes please"`] });
  });

  it('refuses a file that is neither JSON nor YAML, and one that does not exist', async () => {
    const broken = file('broken.yaml', 'lamps: [1, 2\n');
    const bad = await output(['sim', '--config', broken]);
    expect(bad.code).toBe(1);
    expect(bad.lines[0]).toMatch(new RegExp(`^lampnet: --config ${broken}: not valid JSON or YAML: `));
    expect(await output(['sim', '--config', path.join(dir, 'missing.yaml')])).toEqual({ code: 1, lines: [`lampnet: --config ${path.join(dir, 'missing.yaml')}: cannot read it (ENOENT)`] });
  });

  it('checks a value from the environment as it checks the flag', async () => {
    expect(await output(['up', '--print-config'], { LAMPNET_LAMPS: 'many' })).toEqual({ code: 1, lines: ['lampnet: --lamps must be a whole number from 1 to 1000000, got "many"'] });
  });
});
