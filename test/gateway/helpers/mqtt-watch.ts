/**
 * A real mqtt.js client that remembers the last message on every topic it is subscribed to and lets
 * a test wait for a condition on them (event-driven, with a generous bound instead of sleeps).
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface Watcher {
  readonly client: MqttClient;
  /** Last payload per topic, as text. */
  readonly last: Map<string, string>;
  /** Every message in arrival order (topic, payload). */
  readonly log: { topic: string; payload: string }[];
  /** Number of messages received on `topic`. */
  count(topic: string): number;
  /** Resolves once `check()` is true (re-checked on every message). */
  until(what: string, check: () => boolean, timeoutMs?: number): Promise<void>;
  /** Resolves with the parsed JSON of `topic` once `check` accepts it. */
  json<T = Record<string, unknown>>(topic: string, check?: (value: T) => boolean, timeoutMs?: number): Promise<T>;
  publish(topic: string, payload: string | Buffer, options?: { retain?: boolean; qos?: 0 | 1 }): Promise<void>;
  close(): Promise<void>;
}

export async function watch(url: string, filters: string[], options: IClientOptions = {}): Promise<Watcher> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...options });
  const last = new Map<string, string>();
  const log: { topic: string; payload: string }[] = [];
  const counts = new Map<string, number>();
  const waiters = new Set<() => void>();
  client.on('message', (topic, payload) => {
    const text = payload.toString('utf8');
    last.set(topic, text);
    log.push({ topic, payload: text });
    counts.set(topic, (counts.get(topic) ?? 0) + 1);
    for (const w of [...waiters]) w();
  });
  if (filters.length > 0) await client.subscribeAsync(filters, { qos: 1 });

  const until = (what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> =>
    new Promise((resolve, reject) => {
      if (check()) return resolve();
      const timer = setTimeout(() => {
        waiters.delete(test);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const test = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        waiters.delete(test);
        resolve();
      };
      waiters.add(test);
    });

  const parse = <T>(topic: string): T | undefined => {
    const text = last.get(topic);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch {
      return undefined;
    }
  };

  return {
    client,
    last,
    log,
    count: (topic) => counts.get(topic) ?? 0,
    until,
    async json<T>(topic: string, check: (value: T) => boolean = () => true, timeoutMs?: number) {
      await until(`a matching message on ${topic} (last: ${last.get(topic) ?? 'none'})`, () => {
        const v = parse<T>(topic);
        return v !== undefined && check(v);
      }, timeoutMs);
      return parse<T>(topic) as T;
    },
    async publish(topic, payload, opts = {}) {
      await client.publishAsync(topic, payload, { qos: opts.qos ?? 0, retain: opts.retain ?? false });
    },
    close: () => client.endAsync(true),
  };
}
