/**
 * What an MQTT client sees of a fleet coming up: for lamps 1..N, the first `online` on its
 * availability topic and its first state document, with the moment the last lamp got each. A first
 * state counts as confirmed only when it is complete, i.e. carries what the gateway's LwM2M setup
 * fetches (level and on-time from /3311/0, watts from /3305/0, fault from /3/0/11, groups from
 * /32311/0/0); an incomplete one is an error (the gateway published before the setup was done).
 * One byte per lamp and kind; only a lamp's first state is parsed.
 */
import { lampAvailabilityTopic, lampStateTopic } from '../../protocol/mqtt-topics.js';

export const FIRST_SEEN_TOPICS = [lampAvailabilityTopic('+'), lampStateTopic('+')];

const PREFIX = lampStateTopic('').slice(0, -'/state'.length);

export class FirstSeen {
  private readonly online: Uint8Array;
  private readonly state: Uint8Array;
  onlineCount = 0;
  /** Lamps whose first state was complete. */
  stateCount = 0;
  /** Lamps whose first state lacked something the setup fetches, and what it lacked, by field. */
  incomplete = 0;
  readonly lacking: Record<string, number> = {};
  /** performance.now() when the last lamp came online / got its first state (NaN: not yet). */
  allOnlineAt = NaN;
  allStatesAt = NaN;
  /** Lamps with their first state when the last lamp came online. */
  statesAtAllOnline = 0;

  constructor(readonly lamps: number) {
    this.online = new Uint8Array(lamps + 1);
    this.state = new Uint8Array(lamps + 1);
  }

  /** Whether every lamp has been seen online and with a first state (complete or not). */
  get done(): boolean {
    return this.onlineCount >= this.lamps && this.stateCount + this.incomplete >= this.lamps;
  }

  take(topic: string, payload: Buffer): void {
    if (!topic.startsWith(PREFIX)) return;
    const slash = topic.indexOf('/', PREFIX.length);
    const n = Number(topic.slice(PREFIX.length, slash));
    if (!(n >= 1 && n <= this.lamps)) return;
    const kind = topic.slice(slash + 1);
    if (kind === 'availability') {
      if (this.online[n] === 1 || payload.toString() !== 'online') return;
      this.online[n] = 1;
      if (++this.onlineCount === this.lamps) {
        this.allOnlineAt = performance.now();
        this.statesAtAllOnline = this.stateCount + this.incomplete;
      }
    } else if (kind === 'state') {
      if (this.state[n] === 1) return;
      this.state[n] = 1;
      const lacks = lacking(payload);
      if (lacks.length === 0) this.stateCount++;
      else {
        this.incomplete++;
        for (const field of lacks) this.lacking[field] = (this.lacking[field] ?? 0) + 1;
      }
      if (this.stateCount + this.incomplete === this.lamps) this.allStatesAt = performance.now();
    }
  }
}

/** The fields of a lampnet lamp's state document that `payload` lacks (or ['json']). */
function lacking(payload: Buffer): string[] {
  let s: Record<string, unknown>;
  try {
    s = JSON.parse(payload.toString()) as Record<string, unknown>;
  } catch {
    return ['json'];
  }
  const lacks: string[] = ['level', 'watts', 'energyWh', 'onTimeS'].filter((k) => typeof s[k] !== 'number');
  if (typeof s.on !== 'boolean') lacks.push('on');
  if (typeof s.fault !== 'boolean') lacks.push('fault');
  if (!Array.isArray(s.groups) || s.groups.length === 0) lacks.push('groups');
  return lacks;
}
