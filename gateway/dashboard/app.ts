/**
 * The dashboard page: an MQTT client in the browser (over WebSocket, to the broker on the origin
 * that served the page) that draws what the gateway publishes and publishes commands like any
 * other MQTT client would. The server renders nothing; everything here comes from the topics:
 *
 *   lampnet/lamps/+/state, lampnet/lamps/+/availability   → the city map (lamp-store, city-map)
 *   lampnet/stats                                         → counters and charts
 *   lampnet/groups/+/stats                                → the group list and the group card
 *   lampnet/gateway/status, lampnet/gateway/errors        → header status, activity log
 *   click a lamp  → TOGGLE on lampnet/lamps/<id>/set;  group card → lampnet/groups/<g>/set
 *
 * URL parameters: `mqtt` (a ws:// or wss:// broker URL instead of the origin), `username` and
 * `password` (for a broker started with --broker-user; without them, or with wrong ones, the page
 * asks), `street` (lamps per street, default 100).
 */
import type { FleetStats } from '../../protocol/mqtt-topics.js';
import { FleetCharts, powerText } from './charts.js';
import { CityMap, LEGEND } from './city-map.js';
import { FAULT, KNOWN, LampStore, ON, ONLINE } from './lamp-store.js';
import { mqtt, type MqttClient } from './vendor.js';

declare global {
  interface Window {
    /** For scripts and the end-to-end test: what the page has drawn, and where. */
    lampnet: {
      lampsOnMap(): number;
      cellCenter(id: string): { x: number; y: number } | null;
    };
  }
}

const params = new URLSearchParams(location.search);
const STREET_LEN = Math.max(1, Math.floor(Number(params.get('street') ?? 100)) || 100);
const BROKER_URL = params.get('mqtt') ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`;
// The few fleet-wide topics first: their retained messages then arrive before the lamps' (200,000
// of them with 100,000 lamps), so the header and counters fill at once.
const SUBSCRIPTIONS = [
  'lampnet/gateway/status',
  'lampnet/stats',
  'lampnet/groups/+/stats',
  'lampnet/gateway/errors',
  'lampnet/lamps/+/state',
  'lampnet/lamps/+/availability',
];
const ACTIVITY_LINES = 8;

function element<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`dashboard markup has no #${id}`);
  return el as T;
}

const count = (n: number): string => n.toLocaleString('en-US');
const naturalOrder = new Intl.Collator('en', { numeric: true }).compare;
const decoder = new TextDecoder();

const store = new LampStore();
const map = new CityMap(element<HTMLCanvasElement>('map'), element<HTMLCanvasElement>('overlay'), store, STREET_LEN);
const charts = new FleetCharts(element('chart-power'), element('chart-lamps'));
const groupStats = new Map<string, FleetStats>();
let groupsChanged = false;
let selectedGroup: string | null = null;

const client: MqttClient = mqtt.connect(BROKER_URL, {
  clientId: `lampnet-dashboard-${Math.random().toString(16).slice(2, 10)}`,
  reconnectPeriod: 2000,
  ...(params.get('username') !== null ? { username: params.get('username') as string, password: params.get('password') ?? '' } : {}),
});

// ---- connection and messages ----

function setPill(id: string, text: string, tone: 'good' | 'warn' | 'bad' | 'idle'): void {
  const pill = element(id);
  pill.textContent = text;
  pill.dataset.tone = tone;
}

client.on('connect', () => {
  setPill('conn', 'connected', 'good');
  client.subscribe(SUBSCRIPTIONS, { qos: 0 });
});

/** CONNACK codes of a broker that wants (other) credentials: bad user name or password, not
 * authorized (MQTT 3.1.1 and MQTT 5). */
const CREDENTIALS_REFUSED = [4, 5, 134, 135];

client.on('reconnect', () => setPill('conn', 'reconnecting…', 'warn'));
client.on('close', () => {
  if (element('login').hidden) setPill('conn', 'disconnected', 'bad');
});
client.on('error', (err) => {
  log(`broker: ${err.message}`, 'bad');
  if (CREDENTIALS_REFUSED.includes((err as { code?: unknown }).code as number)) askForCredentials();
});

/** Stop retrying with credentials the broker refused and ask for others; connect with them. */
function askForCredentials(): void {
  client.end(true);
  setPill('conn', 'log in', 'warn');
  const form = element<HTMLFormElement>('login');
  form.hidden = false;
  element<HTMLInputElement>('login-user').focus();
  form.onsubmit = (event) => {
    event.preventDefault();
    form.hidden = true;
    client.options.username = element<HTMLInputElement>('login-user').value;
    client.options.password = element<HTMLInputElement>('login-password').value;
    setPill('conn', 'connecting…', 'idle');
    client.reconnect();
  };
}

client.on('message', (topic, payload) => {
  const text = decoder.decode(payload);
  const parts = topic.split('/');
  if (parts[1] === 'lamps' && parts.length === 4) {
    if (parts[3] === 'state') store.applyState(parts[2], text);
    else if (parts[3] === 'availability') store.applyAvailability(parts[2], text);
  } else if (topic === 'lampnet/stats') {
    const stats = parseStats(text);
    if (stats !== null) showFleet(stats);
  } else if (parts[1] === 'groups' && parts[3] === 'stats' && parts.length === 4) {
    const stats = parseStats(text);
    if (stats === null) return;
    if (!groupStats.has(parts[2])) groupsChanged = true;
    groupStats.set(parts[2], stats);
    if (parts[2] === selectedGroup) showGroup();
  } else if (topic === 'lampnet/gateway/status') {
    setPill('gateway', `gateway ${text}`, text === 'online' ? 'good' : 'bad');
  } else if (topic === 'lampnet/gateway/errors') {
    log(errorText(text), 'bad');
  }
});

function parseStats(text: string): FleetStats | null {
  try {
    const v = JSON.parse(text) as FleetStats;
    return typeof v === 'object' && v !== null && typeof v.lamps === 'number' ? v : null;
  } catch {
    return null;
  }
}

function errorText(text: string): string {
  try {
    const e = JSON.parse(text) as { topic?: string; reason?: string };
    return `${e.topic ?? 'gateway'}: ${e.reason ?? text}`;
  } catch {
    return text;
  }
}

function command(topic: string, payload: string, what: string): void {
  client.publish(topic, payload, { qos: 1 });
  log(what, 'cmd');
}

// ---- fleet counters and charts ----

function setCounter(id: string, value: number, text = count(value)): void {
  const el = element(id);
  el.textContent = text;
  el.dataset.value = String(value);
}

function showFleet(s: FleetStats): void {
  setCounter('stat-lamps', s.lamps);
  setCounter('stat-online', s.online);
  setCounter('stat-offline', s.offline);
  setCounter('stat-on', s.on);
  setCounter('stat-off', s.off);
  setCounter('stat-fault', s.fault);
  setCounter('stat-power', s.watts, powerText(s.watts));
  setCounter('stat-energy', s.energyWh, s.energyWh >= 10_000 ? `${(s.energyWh / 1000).toFixed(1)} kWh` : `${s.energyWh.toFixed(1)} Wh`);
  charts.push(s);
}

// ---- groups ----

const groupSelect = element<HTMLSelectElement>('group');
const levelInput = element<HTMLInputElement>('group-level');

function refreshGroupList(): void {
  const names = [...groupStats.keys()].sort(naturalOrder);
  const options = [new Option(names.length === 0 ? 'no groups yet' : 'choose a group…', '')];
  for (const name of names) options.push(new Option(name, name));
  groupSelect.replaceChildren(...options);
  groupSelect.value = selectedGroup ?? '';
}

function selectGroup(group: string | null): void {
  selectedGroup = group;
  groupSelect.value = group ?? '';
  map.select(group);
  showGroup();
}

function showGroup(): void {
  const s = selectedGroup === null ? undefined : groupStats.get(selectedGroup);
  element('group-card').dataset.selected = selectedGroup === null ? 'no' : 'yes';
  element('group-stats').textContent = s === undefined
    ? 'Select a group, or shift-click a lamp to select its street.'
    : `${count(s.lamps)} lamps · ${count(s.online)} online · ${count(s.on)} on · ${count(s.fault)} fault · ${powerText(s.watts)}`;
}

groupSelect.addEventListener('change', () => selectGroup(groupSelect.value === '' ? null : groupSelect.value));
levelInput.addEventListener('input', () => { element('group-level-value').textContent = `${levelInput.value} %`; });
const groupCommand = (payload: string, what: string) => (): void => {
  if (selectedGroup !== null) command(`lampnet/groups/${selectedGroup}/set`, payload, `${what} → ${selectedGroup}`);
};
element('group-on').addEventListener('click', groupCommand('ON', 'ON'));
element('group-off').addEventListener('click', groupCommand('OFF', 'OFF'));
element('group-dim').addEventListener('click', () => groupCommand(levelInput.value, `dim ${levelInput.value} %`)());

// ---- the map: hover card, click to toggle ----

const canvas = element<HTMLCanvasElement>('map');
const tooltip = element('tooltip');

function stateText(flags: number, level: number): { text: string; tone: string } {
  if (!(flags & ONLINE)) return { text: 'offline', tone: 'offline' };
  if (!(flags & KNOWN)) return { text: 'no report yet', tone: 'offline' };
  if (flags & FAULT) return { text: 'FAULT', tone: 'fault' };
  return flags & ON ? { text: `ON · ${level} %`, tone: 'on' } : { text: 'OFF', tone: 'off' };
}

function showTooltip(slot: number, event: MouseEvent): void {
  const lamp = store.details(slot);
  const state = stateText(lamp.flags, lamp.level);
  const street = lamp.groups[0];
  const rows: [string, string][] = [
    ['address', lamp.address || '–'],
    ['power', `${lamp.watts.toFixed(1)} W`],
    ['energy', `${lamp.energyWh.toFixed(2)} Wh`],
    ['groups', lamp.groups.join(', ') || '–'],
    ['updated', lamp.updatedAt ? new Date(lamp.updatedAt).toLocaleTimeString() : '–'],
  ];
  const title = document.createElement('div');
  title.className = 'tip-title';
  const name = document.createElement('strong');
  name.textContent = `Lamp ${lamp.id}`;
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.dataset.tone = state.tone;
  badge.textContent = state.text;
  title.append(name, badge);
  const table = document.createElement('dl');
  for (const [k, v] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    table.append(dt, dd);
  }
  const hint = document.createElement('div');
  hint.className = 'tip-hint';
  hint.textContent = street === undefined ? 'click: toggle' : `click: toggle · shift-click: select ${street}`;
  tooltip.replaceChildren(title, table, hint);
  tooltip.hidden = false;
  const x = Math.min(event.clientX + 16, window.innerWidth - tooltip.offsetWidth - 8);
  const y = Math.min(event.clientY + 16, window.innerHeight - tooltip.offsetHeight - 8);
  tooltip.style.transform = `translate(${x}px, ${y}px)`;
}

canvas.addEventListener('mousemove', (event) => {
  const slot = map.slotAtEvent(event);
  map.hover(slot);
  canvas.style.cursor = slot >= 0 ? 'pointer' : 'default';
  if (slot >= 0) showTooltip(slot, event);
  else tooltip.hidden = true;
});
canvas.addEventListener('mouseleave', () => {
  map.hover(-1);
  tooltip.hidden = true;
});
canvas.addEventListener('click', (event) => {
  const slot = map.slotAtEvent(event);
  if (slot < 0) return;
  const lamp = store.details(slot);
  if (event.shiftKey) {
    if (lamp.groups.length > 0) selectGroup(lamp.groups[0]);
    return;
  }
  command(`lampnet/lamps/${lamp.id}/set`, 'TOGGLE', `TOGGLE → lamp ${lamp.id}`);
});

// ---- activity log ----

function log(text: string, tone: 'cmd' | 'bad'): void {
  const list = element('activity');
  const item = document.createElement('li');
  item.dataset.tone = tone;
  const time = document.createElement('time');
  time.textContent = new Date().toLocaleTimeString();
  const body = document.createElement('span');
  body.textContent = text;
  item.append(time, body);
  list.prepend(item);
  while (list.children.length > ACTIVITY_LINES) list.lastElementChild?.remove();
}

// ---- legend, frames, resizing ----

element('legend').replaceChildren(...LEGEND.map(({ label, color }) => {
  const item = document.createElement('span');
  const swatch = document.createElement('i');
  swatch.style.background = color;
  item.append(swatch, label);
  return item;
}));
element('broker').textContent = BROKER_URL;

let shownOnMap = -1;
function frame(): void {
  map.frame();
  if (groupsChanged) {
    groupsChanged = false;
    refreshGroupList();
  }
  const onMap = store.reported;
  if (onMap !== shownOnMap) {
    shownOnMap = onMap;
    const caption = element('map-caption');
    caption.textContent = `${count(onMap)} lamps on the map · ${count(Math.ceil(store.places / STREET_LEN))} streets of ${STREET_LEN}`;
    caption.dataset.value = String(onMap);
  }
  requestAnimationFrame(frame);
}

new ResizeObserver(() => map.resize()).observe(element('map-wrap'));
new ResizeObserver(() => charts.resize()).observe(element('charts'));
refreshGroupList();
showGroup();
requestAnimationFrame(frame);

window.lampnet = {
  lampsOnMap: () => store.reported,
  cellCenter(id) {
    const slot = store.slotOf(id);
    return slot === undefined ? null : map.cellCenter(slot);
  },
};
