/**
 * The dashboard page: an MQTT client in the browser (over WebSocket, to the broker on the origin
 * that served the page) that draws what the gateway publishes and publishes commands like any
 * other MQTT client would. The server renders nothing; everything here comes from the topics, and
 * at load from two documents the gateway serves beside the page (protocol/dashboard-api.ts): the
 * whole fleet in one response draws 100,000 lamps in about a second, where their retained MQTT
 * messages take tens of seconds to arrive.
 *
 *   GET /api/fleet, then lampnet/lamps/+/state and
 *   lampnet/lamps/+/availability                          → the city map (lamp-store, city-map)
 *   GET /api/stats-history, then lampnet/stats            → counters and charts
 *   lampnet/groups/+/stats                                → the group list and the group card
 *   lampnet/gateway/status, lampnet/gateway/errors        → header status, activity log
 *   click a lamp  → TOGGLE on lampnet/lamps/<id>/set;  group card → lampnet/groups/<g>/set
 *   wheel or +/− to zoom, drag to pan; the search box finds a lamp by id or address
 *
 * URL parameters: `mqtt` (a ws:// or wss:// broker URL instead of the origin), `username` and
 * `password` (for a broker started with --broker-user; without them, or with wrong ones, the page
 * asks), `street` (lamps per street, default 100). With `mqtt` naming another broker there is no
 * gateway behind the origin: the page then waits for the retained messages alone.
 */
import { FLEET_SNAPSHOT_PATH, STATS_HISTORY_PATH, type FleetSnapshot, type StatsHistory } from '../../protocol/dashboard-api.js';
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
      /** A lamp's size on screen (CSS px), which zooming changes. */
      cellOnScreen(): number;
      chartPoints(): number;
      /** Milliseconds from the page's navigation until every lamp of the fleet snapshot was on
       * the map (null until then, or without a snapshot). */
      fleetDrawnMs(): number | null;
    };
  }
}

const params = new URLSearchParams(location.search);
const STREET_LEN = Math.max(1, Math.floor(Number(params.get('street') ?? 100)) || 100);
const BROKER_URL = params.get('mqtt') ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`;
const GATEWAY_ON_ORIGIN = !params.has('mqtt');
const CREDENTIALS = params.get('username') !== null ? { username: params.get('username') as string, password: params.get('password') ?? '' } : null;
// The few fleet-wide topics first: their retained messages then arrive before the lamps' (200,000
// of them with 100,000 lamps), so the header and counters fill at once.
const FLEET_SUBSCRIPTIONS = ['lampnet/gateway/status', 'lampnet/stats', 'lampnet/groups/+/stats', 'lampnet/gateway/errors'];
const LAMP_SUBSCRIPTIONS = ['lampnet/lamps/+/state', 'lampnet/lamps/+/availability'];
const ACTIVITY_LINES = 40;

function element<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`dashboard markup has no #${id}`);
  return el as T;
}

const count = (n: number): string => n.toLocaleString('en-US');
/** "1 lamp", "2 lamps". */
const counted = (n: number, noun: string): string => `${count(n)} ${noun}${n === 1 ? '' : 's'}`;
const naturalOrder = new Intl.Collator('en', { numeric: true }).compare;
const decoder = new TextDecoder();

const store = new LampStore();
const map = new CityMap(element<HTMLCanvasElement>('map'), element<HTMLCanvasElement>('overlay'), store, STREET_LEN);
const charts = new FleetCharts(element('chart-power'), element('chart-lamps'));
const groupStats = new Map<string, FleetStats>();
let groupsChanged = false;
let selectedGroup: string | null = null;

let fleetDrawnMs: number | null = null;
/** Lamps with a state in the fleet snapshot, once it is applied. */
let snapshotLamps = -1;

/** A document the gateway serves beside the page, or null (no gateway on the origin, or it failed). */
async function gatewayDocument<T>(path: string): Promise<T | null> {
  if (!GATEWAY_ON_ORIGIN) return null;
  const headers: Record<string, string> = CREDENTIALS === null ? {} : { authorization: `Basic ${btoa(`${CREDENTIALS.username}:${CREDENTIALS.password}`)}` };
  try {
    const res = await fetch(path.slice(1), { headers });
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    return (await res.json()) as T;
  } catch (err) {
    log(`${path}: ${(err as Error).message}; waiting for MQTT instead`, 'bad');
    return null;
  }
}

// The charts start from the history; live stats wait for it, so that they come after it.
const historyLoaded = gatewayDocument<StatsHistory>(STATS_HISTORY_PATH).then((history) => {
  for (const sample of history?.samples ?? []) charts.push(sample, sample.at);
});
// Every lamp at once; the lamps' topics are subscribed after it, and their retained messages
// (the same states, or newer) then only correct what changed meanwhile.
const fleetLoaded = gatewayDocument<FleetSnapshot>(FLEET_SNAPSHOT_PATH).then((snapshot) => {
  if (snapshot !== null) snapshotLamps = store.applySnapshot(snapshot);
});

const client: MqttClient = mqtt.connect(BROKER_URL, {
  clientId: `lampnet-dashboard-${Math.random().toString(16).slice(2, 10)}`,
  reconnectPeriod: 2000,
  ...(CREDENTIALS ?? {}),
});

// ---- connection and messages ----

function setPill(id: string, text: string, tone: 'good' | 'warn' | 'bad' | 'idle'): void {
  const pill = element(id);
  pill.textContent = text;
  pill.dataset.tone = tone;
}

client.on('connect', () => {
  setPill('conn', 'connected', 'good');
  void historyLoaded
    .then(() => client.subscribe(FLEET_SUBSCRIPTIONS, { qos: 0 }))
    .then(() => fleetLoaded)
    .then(() => client.subscribe(LAMP_SUBSCRIPTIONS, { qos: 0 }));
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
    : `${counted(s.lamps, 'lamp')} · ${count(s.online)} online · ${count(s.on)} on · ${count(s.fault)} fault · ${powerText(s.watts)}`;
}

groupSelect.addEventListener('change', () => selectGroup(groupSelect.value === '' ? null : groupSelect.value));
levelInput.addEventListener('input', () => { element('group-level-value').textContent = `${levelInput.value} %`; });
const groupCommand = (payload: string, what: string) => (): void => {
  if (selectedGroup !== null) command(`lampnet/groups/${selectedGroup}/set`, payload, `${what} → ${selectedGroup}`);
};
element('group-on').addEventListener('click', groupCommand('ON', 'ON'));
element('group-off').addEventListener('click', groupCommand('OFF', 'OFF'));
element('group-dim').addEventListener('click', () => groupCommand(levelInput.value, `dim ${levelInput.value} %`)());

// ---- the map: hover card, click to toggle, zoom and pan, search ----

const canvas = element<HTMLCanvasElement>('map');
const tooltip = element('tooltip');
/** The lamp the search found: its card stays up until the mouse shows another. */
let foundSlot = -1;

function stateText(flags: number, level: number): { text: string; tone: string } {
  if (!(flags & ONLINE)) return { text: 'offline', tone: 'offline' };
  if (!(flags & KNOWN)) return { text: 'no report yet', tone: 'offline' };
  if (flags & FAULT) return { text: 'FAULT', tone: 'fault' };
  return flags & ON ? { text: `ON · ${level} %`, tone: 'on' } : { text: 'OFF', tone: 'off' };
}

/** The card of lamp `slot`, next to the point (x, y) of the window. */
function showCard(slot: number, x: number, y: number): void {
  const lamp = store.details(slot);
  const state = stateText(lamp.flags, lamp.level);
  const street = lamp.groups[0];
  const rows: [string, string][] = [
    ['address', lamp.address || '–'],
    ['power', `${lamp.watts.toFixed(1)} W`],
    ['energy', `${lamp.energyWh.toFixed(2)} Wh`],
    ['groups', lamp.groups.join(', ') || '–'],
    ['updated', lamp.reportedAt > 0 ? new Date(lamp.reportedAt).toLocaleTimeString() : '–'],
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
  const left = Math.max(8, Math.min(x + 16, window.innerWidth - tooltip.offsetWidth - 8));
  const top = Math.max(8, Math.min(y + 16, window.innerHeight - tooltip.offsetHeight - 8));
  tooltip.style.transform = `translate(${left}px, ${top}px)`;
}

/** The found lamp's card beside it on the map, or no card. */
function showFoundCard(): void {
  const at = foundSlot < 0 ? null : map.cellCenter(foundSlot);
  if (at === null) {
    tooltip.hidden = true;
    return;
  }
  const box = canvas.getBoundingClientRect();
  showCard(foundSlot, box.left + at.x, box.top + at.y);
}

// Drag to pan (a press that moves is a drag, not a click), wheel to zoom around the pointer.
let drag: { x: number; y: number; moved: boolean } | null = null;
canvas.addEventListener('pointerdown', (event) => {
  drag = { x: event.clientX, y: event.clientY, moved: false };
  canvas.setPointerCapture(event.pointerId);
});
canvas.addEventListener('pointerup', () => {
  if (drag?.moved) canvas.style.cursor = 'default';
  setTimeout(() => { drag = null; });
});
canvas.addEventListener('pointermove', (event) => {
  if (drag !== null && event.buttons !== 0) {
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (drag.moved || Math.abs(dx) + Math.abs(dy) > 3) {
      drag = { x: event.clientX, y: event.clientY, moved: true };
      map.panBy(dx, dy);
      canvas.style.cursor = 'grabbing';
      tooltip.hidden = true;
      return;
    }
  }
  const slot = map.slotAtEvent(event);
  map.hover(slot);
  canvas.style.cursor = slot >= 0 ? 'pointer' : 'default';
  if (slot >= 0) showCard(slot, event.clientX, event.clientY);
  else if (foundSlot >= 0) showFoundCard();
  else tooltip.hidden = true;
});
canvas.addEventListener('pointerleave', () => {
  map.hover(-1);
  if (foundSlot >= 0) showFoundCard();
  else tooltip.hidden = true;
});
canvas.addEventListener('wheel', (event) => {
  event.preventDefault();
  const box = canvas.getBoundingClientRect();
  map.zoomBy(Math.exp(-event.deltaY * 0.002), event.clientX - box.left, event.clientY - box.top);
  tooltip.hidden = true;
}, { passive: false });
canvas.addEventListener('click', (event) => {
  if (drag?.moved) return;
  const slot = map.slotAtEvent(event);
  if (slot < 0) return;
  const lamp = store.details(slot);
  if (event.shiftKey) {
    if (lamp.groups.length > 0) selectGroup(lamp.groups[0]);
    return;
  }
  command(`lampnet/lamps/${lamp.id}/set`, 'TOGGLE', `TOGGLE → lamp ${lamp.id}`);
});
element('zoom-in').addEventListener('click', () => map.zoomBy(2));
element('zoom-out').addEventListener('click', () => map.zoomBy(0.5));
element('zoom-fit').addEventListener('click', () => {
  map.fit();
  tooltip.hidden = true;
});

const searchInput = element<HTMLInputElement>('search-input');
searchInput.addEventListener('input', () => { element('search-result').textContent = ''; });
element<HTMLFormElement>('search').addEventListener('submit', (event) => {
  event.preventDefault();
  const query = searchInput.value.trim();
  const result = element('search-result');
  if (query === '') return;
  const slot = store.find(query);
  if (slot === undefined) {
    result.textContent = `no lamp with id or address “${query}”`;
    foundSlot = -1;
    map.focus(-1);
    tooltip.hidden = true;
    return;
  }
  result.textContent = '';
  foundSlot = slot;
  map.focus(slot);
  // The map moves in the next frame; the card goes beside the lamp once it has.
  requestAnimationFrame(() => requestAnimationFrame(showFoundCard));
});
document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape' || foundSlot < 0) return;
  foundSlot = -1;
  map.focus(-1);
  tooltip.hidden = true;
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
    caption.textContent = `${counted(onMap, 'lamp')} on the map · ${counted(Math.ceil(store.places / STREET_LEN), 'street')} of ${STREET_LEN}`;
    caption.dataset.value = String(onMap);
  }
  if (fleetDrawnMs === null && snapshotLamps >= 0 && onMap >= snapshotLamps) fleetDrawnMs = performance.now();
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
  cellOnScreen: () => map.cellOnScreen,
  chartPoints: () => charts.points,
  fleetDrawnMs: () => fleetDrawnMs,
};
