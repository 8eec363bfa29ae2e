/**
 * The MQTT topic scheme of the gateway — the one place that spells topic names — and the shapes of
 * the documents published on them (lamp state, fleet and group aggregates).
 *
 *   lampnet/lamps/<id>/state          retained JSON state of one lamp
 *   lampnet/lamps/<id>/availability   retained `online` / `offline`
 *   lampnet/lamps/<id>/set            commands to one lamp
 *   lampnet/groups/<group>/set        commands to every lamp of a group
 *   lampnet/groups/<group>/stats      retained group aggregates
 *   lampnet/stats                     retained fleet aggregates
 *   lampnet/gateway/status            retained `online`, `offline` as the gateway's last will
 *   lampnet/gateway/errors            one JSON report per rejected command or failed delivery
 *   lampnet/gateway/commands          JSON notices of held commands: held (with deadline), delivered
 *   homeassistant/light/<id>/config   Home Assistant discovery (with --ha-discovery)
 *   <Response Topic of a command>     the command's outcome (MQTT 5 request/response): outside
 *                                     lampnet/ and homeassistant/, or under lampnet/replies/
 *
 * Lamp ids and group names become single topic levels, so they must not contain the MQTT
 * separators and wildcards (`/`, `+`, `#`) and must not be empty; `nameProblem` says why one is
 * unusable, for registrations and commands alike.
 */

export const TOPIC_ROOT = 'lampnet';
export const STATUS_TOPIC = `${TOPIC_ROOT}/gateway/status`;
export const ERRORS_TOPIC = `${TOPIC_ROOT}/gateway/errors`;
export const COMMAND_NOTICES_TOPIC = `${TOPIC_ROOT}/gateway/commands`;
export const FLEET_STATS_TOPIC = `${TOPIC_ROOT}/stats`;
/** Where clients may ask for answers inside lampnet's tree (the Mosquitto ACL lets each client
 * read lampnet/replies/<its client id>/#). */
export const REPLIES_ROOT = `${TOPIC_ROOT}/replies`;

/** Longest lamp id or group name accepted (bytes of UTF-8). Keeps topics and records small. */
export const MAX_NAME_LENGTH = 64;

export const lampStateTopic = (id: string): string => `${TOPIC_ROOT}/lamps/${id}/state`;
export const lampAvailabilityTopic = (id: string): string => `${TOPIC_ROOT}/lamps/${id}/availability`;
export const lampSetTopic = (id: string): string => `${TOPIC_ROOT}/lamps/${id}/set`;
export const groupStatsTopic = (group: string): string => `${TOPIC_ROOT}/groups/${group}/stats`;
export const haDiscoveryTopic = (id: string): string => `homeassistant/light/${id}/config`;
export const haGroupDiscoveryTopic = (group: string): string => `homeassistant/light/lampnet-group-${group}/config`;
export const groupSetTopic = (group: string): string => `${TOPIC_ROOT}/groups/${group}/set`;

/** Home Assistant's brightness is the lamp's level, 0–100, in state documents and commands alike
 * (discovery announces `brightness_scale` 100). */
export const HA_BRIGHTNESS_SCALE = 100;

/**
 * What the gateway subscribes to. The second filter of each pair catches `set` topics whose id
 * contains `/` (five or more levels), so they are answered with a reason instead of vanishing; it
 * never matches the gateway's own four-level state topics.
 */
export const COMMAND_SUBSCRIPTIONS = [
  `${TOPIC_ROOT}/lamps/+/set`,
  `${TOPIC_ROOT}/lamps/+/+/+/#`,
  `${TOPIC_ROOT}/groups/+/set`,
  `${TOPIC_ROOT}/groups/+/+/+/#`,
];

export type CommandTarget = 'lamp' | 'group';

/** A topic the gateway received a message on, classified. `name` is raw: check it with nameProblem. */
export type CommandTopic = { target: CommandTarget; name: string } | null;

/** Classify a topic from COMMAND_SUBSCRIPTIONS: a set command for a lamp or group, or null (not a
 * command topic, e.g. `lampnet/lamps/a/b/c` without `/set`). */
export function parseCommandTopic(topic: string): CommandTopic {
  const lamps = `${TOPIC_ROOT}/lamps/`;
  const groups = `${TOPIC_ROOT}/groups/`;
  if (!topic.endsWith('/set')) return null;
  const target: CommandTarget | null = topic.startsWith(lamps) ? 'lamp' : topic.startsWith(groups) ? 'group' : null;
  if (target === null) return null;
  const start = target === 'lamp' ? lamps.length : groups.length;
  const end = topic.length - '/set'.length;
  return { target, name: end >= start ? topic.slice(start, end) : '' };
}

/** Why `name` cannot be a lamp id or group name, or null when it can. */
export function nameProblem(kind: string, name: string): string | null {
  if (name.length === 0) return `${kind} is empty`;
  if (Buffer.byteLength(name) > MAX_NAME_LENGTH) return `${kind} '${name.slice(0, MAX_NAME_LENGTH)}…' is longer than ${MAX_NAME_LENGTH} bytes`;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2f || c === 0x2b || c === 0x23) return `${kind} '${name}' contains '${name[i]}' (MQTT separators and wildcards / + # are not allowed)`;
    if (c < 0x20 || c === 0x7f) return `${kind} '${name.replace(/[\x00-\x1f\x7f]/g, '?')}' contains a control character`;
  }
  return null;
}

/** Why the gateway will not publish a command's answer on `topic`, or null when it will. Its answer
 * must not land where it speaks for lamps or where it takes commands. */
export function responseTopicProblem(topic: string): string | null {
  const inTree = (root: string): boolean => topic === root || topic.startsWith(`${root}/`);
  if (topic.length === 0 || topic.includes('+') || topic.includes('#')) return `response topic '${topic}' is empty or has a wildcard`;
  if (topic.startsWith('$') || inTree('homeassistant') || (inTree(TOPIC_ROOT) && !topic.startsWith(`${REPLIES_ROOT}/`))) {
    return `response topic '${topic}' is the gateway's own; answers go outside ${TOPIC_ROOT}/ and homeassistant/, or under ${REPLIES_ROOT}/`;
  }
  return null;
}

/**
 * A test of topics against the subscription `filter` (MQTT 3.1.1 §4.7): `+` is one whole level, `#`
 * (last) is that level and everything below it, including its parent (`a/#` matches `a`). A topic
 * starting with `$` is not matched by a filter starting with a wildcard (§4.7.2). The filter is
 * split once; each topic is walked in place.
 */
export function topicMatcher(filter: string): (topic: string) => boolean {
  const levels = filter.split('/');
  const wildFirst = levels[0] === '+' || levels[0] === '#';
  return (topic) => {
    if (wildFirst && topic.startsWith('$')) return false;
    let at = 0;
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i];
      if (level === '#') return true;
      // The topic has fewer levels than the filter.
      if (at > topic.length) return false;
      const next = topic.indexOf('/', at);
      const end = next < 0 ? topic.length : next;
      if (level !== '+' && (end - at !== level.length || !topic.startsWith(level, at))) return false;
      at = end + 1;
    }
    return at > topic.length;
  };
}

// ---------------------------------------------------------------------------------------------
// The documents

/** A lamp's last reported state: `on` always, the rest only when the lamp reports it (an LwM2M
 * light may have no dimmer 5851, no energy 5805, no on-time 5852, no power meter 3305/5800, no
 * Device error code 3/0/11). */
export interface LampReport {
  on: boolean;
  level?: number;
  watts?: number;
  energyWh?: number;
  onTimeS?: number;
  fault?: boolean;
}

/** lampnet/lamps/<id>/state, retained JSON. `state`/`brightness` (0–HA_BRIGHTNESS_SCALE) repeat on/level in the
 * form Home Assistant's JSON light schema reads. A field the lamp does not report is absent (not
 * 0): level and brightness, watts, energyWh, onTimeS, fault. */
export interface LampStateDocument extends LampReport {
  address: string;
  groups: readonly string[];
  /** When the lamp last reported (ISO 8601). */
  updatedAt: string;
  state: 'ON' | 'OFF';
  brightness?: number;
}

/** The state document of a lamp that reported `s` from `address` at `reportedAt` (ms). */
export function lampStateDocument(s: LampReport, address: string, groups: readonly string[], reportedAt: number): LampStateDocument {
  return {
    on: s.on,
    ...(s.level === undefined ? {} : { level: s.level }),
    ...(s.watts === undefined ? {} : { watts: s.watts }),
    ...(s.energyWh === undefined ? {} : { energyWh: s.energyWh }),
    ...(s.onTimeS === undefined ? {} : { onTimeS: s.onTimeS }),
    ...(s.fault === undefined ? {} : { fault: s.fault }),
    address,
    groups,
    updatedAt: new Date(reportedAt).toISOString(),
    state: s.on ? 'ON' : 'OFF',
    ...(s.level === undefined ? {} : { brightness: Math.round((s.level * HA_BRIGHTNESS_SCALE) / 100) }),
  };
}

/** lampnet/stats and lampnet/groups/<group>/stats, retained JSON: counts and sums over a set of
 * lamps. `on`/`off`/`fault`/`watts` count online lamps only (an offline lamp's last power draw is
 * not known to still hold); `energyWh` adds every lamp's last reported meter reading. */
export interface FleetStats {
  lamps: number;
  online: number;
  offline: number;
  on: number;
  off: number;
  fault: number;
  watts: number;
  energyWh: number;
}

/** The answer to an MQTT 5 command published with a Response Topic, on that topic with the command's
 * Correlation Data: for a lamp, the state it confirmed; for a group, how many online members the
 * command went to (they report their states themselves); or why the command failed (`kind` as on
 * lampnet/gateway/errors). */
export type CommandResponseDocument =
  | { topic: string; ok: true; state: LampStateDocument }
  | { topic: string; ok: true; group: string; members: number }
  | { topic: string; ok: false; kind: string; reason: string }
  /** The lamp has not registered yet: the command waits for it until `until` (ISO 8601); the final
   * answer follows on the same Response Topic. */
  | { topic: string; held: true; lamp: string; until: string };

/** Stats rounded to what they mean: a power reading to 0.1 W and a meter to 0.001 Wh (1 mWh), so a
 * sum over a million lamps carries no float noise (`1834.9999999999968`). Rounds in place. */
export function roundStats(stats: FleetStats): FleetStats {
  stats.watts = Math.round(stats.watts * 10) / 10;
  stats.energyWh = Math.round(stats.energyWh * 1000) / 1000;
  return stats;
}
