/**
 * What the suites need besides Node and the shared install, and which suites need it: without one
 * of these a suite fails with an error about something else (a namespace that cannot be created, a
 * spawn ENOENT deep in a helper). Checked once per run: vitest.config.ts leaves out the suites whose
 * needs are missing, and test/global-setup.ts says which and how to install what they need.
 *
 * CI (.ci/run) sets LAMPNET_REQUIRE_ALL=1: there nothing is left out, and a missing need fails the
 * run before any suite starts. Every `apt` package here is installed by .ci/run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ESPRUINO } from '../bench/espruino-board.js';

export interface Requirement {
  /** What the suites use: a command on PATH, a file, or root. */
  name: string;
  /** How to get it on Debian. */
  install: string;
  /** Test files that need it, from the project root. */
  suites: string[];
  present(): boolean;
}

const BENCH = 'test/bench/quick.test.ts';
const BOARDS = 'test/firmware/espruino-board.test.ts';
const BOARD_OSCORE = 'test/firmware/espruino-oscore.test.ts';
const BOARD_SIIT = 'test/gateway/siit-board.test.ts';
const FLEET = 'test/gateway/fleet.test.ts';
const FLEET_TUN = 'test/sim/fleet-tun.test.ts';
const RESTART = 'test/faults/gateway-restart.test.ts';
const TUN = 'test/sim/tun.test.ts';
const TUN_HOSTILE = 'test/sim/tun-hostile.test.ts';
const UP_TUN = 'test/e2e/up-tun.test.ts';
const GROUP_IPV4 = 'test/gateway/group-ipv4-members.test.ts';
const TUN_IMPAIRED = 'test/faults/tun-impaired.test.ts';
const UP_OPERATOR = 'test/cli/up-operator.test.ts';
const HEALTH = 'test/gateway/health.test.ts';
const PROMETHEUS = 'test/gateway/prometheus.test.ts';
const TERMINAL = 'test/cli/terminal.test.ts';
const STORM = 'test/faults/storm.test.ts';

function onPath(command: string): () => boolean {
  return () => spawnSync('sh', ['-c', 'command -v "$0"', command], { stdio: 'ignore' }).status === 0;
}

/** Whether an npm package resolves from the project (a devDependency not installed yet does not). */
function resolvable(pkg: string): () => boolean {
  return () => {
    try {
      createRequire(import.meta.url).resolve(pkg);
      return true;
    } catch {
      return false;
    }
  };
}

function apt(pkg: string): string {
  return `apt-get install ${pkg}`;
}

export const REQUIREMENTS: Requirement[] = [
  {
    name: 'root (network namespaces, TUN devices)', install: 'run the tests as root (sudo npm test)',
    suites: [BENCH, BOARDS, BOARD_OSCORE, BOARD_SIIT, FLEET, FLEET_TUN, GROUP_IPV4, RESTART, STORM, TUN, TUN_HOSTILE, TUN_IMPAIRED, UP_TUN], present: () => process.getuid?.() === 0,
  },
  { name: 'ip', install: apt('iproute2'), suites: [BENCH, BOARDS, BOARD_OSCORE, BOARD_SIIT, FLEET, FLEET_TUN, GROUP_IPV4, RESTART, STORM, TUN, TUN_HOSTILE, TUN_IMPAIRED, UP_TUN], present: onPath('ip') },
  { name: 'ping', install: apt('iputils-ping'), suites: [BENCH, BOARD_SIIT, FLEET_TUN, STORM, TUN, TUN_HOSTILE, UP_TUN], present: onPath('ping') },
  { name: 'mosquitto', install: apt('mosquitto'), suites: ['test/gateway/mosquitto.test.ts', RESTART, HEALTH, TERMINAL], present: onPath('mosquitto') },
  { name: 'promtool', install: apt('prometheus'), suites: [PROMETHEUS], present: onPath('promtool') },
  { name: 'mosquitto_sub and mosquitto_pub', install: apt('mosquitto-clients'), suites: [BOARDS, BOARD_OSCORE, BOARD_SIIT, FLEET, RESTART, STORM, TUN_IMPAIRED, UP_TUN, UP_OPERATOR, TERMINAL, 'test/gateway/access.test.ts', 'test/gateway/mqtt5.test.ts', 'test/gateway/mqtt-max-packet.test.ts'],
    present: () => onPath('mosquitto_sub')() && onPath('mosquitto_pub')() },
  { name: 'nats-server', install: apt('nats-server'), suites: ['test/gateway/mqtt311-fallback.test.ts'], present: onPath('nats-server') },
  {
    name: 'coap-client-notls', install: apt('libcoap3-bin'),
    suites: [BOARDS, BOARD_OSCORE, BOARD_SIIT, 'test/firmware/libcoap.test.ts', FLEET, 'test/gateway/resource-directory.test.ts', FLEET_TUN, STORM], present: onPath('coap-client-notls'),
  },
  {
    name: 'python3-paho-mqtt (for /usr/bin/python3)', install: apt('python3-paho-mqtt'), suites: ['test/e2e/home-assistant.test.ts'],
    present: () => spawnSync('/usr/bin/python3', ['-c', 'import paho.mqtt'], { stdio: 'ignore' }).status === 0,
  },
  { name: 'curl', install: apt('curl'), suites: [GROUP_IPV4, HEALTH, TUN_IMPAIRED], present: onPath('curl') },
  { name: 'python3', install: apt('python3'), suites: [BOARD_SIIT, FLEET_TUN, STORM, TUN, TUN_HOSTILE], present: onPath('python3') },
  { name: 'tshark', install: apt('tshark'), suites: [BOARD_SIIT], present: onPath('tshark') },
  { name: 'cc', install: apt('gcc'), suites: [BENCH], present: onPath('cc') },
  {
    name: 'the Espruino interpreter (../shared/espruino/espruino)', install: 'put the shared folder beside the clone, as CI does',
    suites: [BOARDS, BOARD_OSCORE, BOARD_SIIT, GROUP_IPV4, 'test/protocol/lwm2m-espruino.test.ts', 'test/protocol/oscore-espruino.test.ts'], present: () => existsSync(ESPRUINO),
  },
  { name: 'lwm2m-node-lib (npm)', install: 'npm install --save-dev lwm2m-node-lib@1.4.0', suites: ['test/gateway/lwm2m-node-lib.test.ts'], present: resolvable('lwm2m-node-lib') },
  { name: 'lwm2m-codec (npm)', install: 'npm install --save-dev lwm2m-codec@0.1.1', suites: ['test/protocol/lwm2m-interop.test.ts'], present: resolvable('lwm2m-codec') },
  { name: '/usr/bin/chromium', install: apt('chromium'), suites: [BENCH, 'test/e2e/dashboard.test.ts', 'test/e2e/dashboard-scale.test.ts', 'test/e2e/dashboard-login.test.ts'], present: () => existsSync('/usr/bin/chromium') },
];

/** Whether a missing need fails the run instead of leaving out the suites that need it. */
export function requireAll(): boolean {
  return process.env.LAMPNET_REQUIRE_ALL === '1';
}

export function missingRequirements(): Requirement[] {
  return REQUIREMENTS.filter((r) => !r.present());
}

/** The suites to leave out of this run: none when every need is required. */
export function suitesToSkip(missing: Requirement[]): string[] {
  return requireAll() ? [] : [...new Set(missing.flatMap((r) => r.suites))].sort();
}

/** One message naming what is missing, how to install it, and what that does to this run. */
export function describeMissing(missing: Requirement[]): string {
  const lines = missing.map((r) => `  ${r.name}: ${r.install} (needed by ${r.suites.join(', ')})`);
  const outcome = requireAll()
    ? 'LAMPNET_REQUIRE_ALL=1 (as in CI): every suite must run, so the run stops here.'
    : `These suites are skipped: ${suitesToSkip(missing).join(', ')}. Set LAMPNET_REQUIRE_ALL=1 to make a missing tool fail the run (CI does).`;
  return `test preflight: missing\n${lines.join('\n')}\n${outcome}`;
}
