/**
 * Watching a broker from inside a network namespace with Mosquitto's own client.
 */
import { createInterface } from 'node:readline';
import type { Netns } from '../../bench/netns.js';

/** Subscribe with mosquitto_sub inside `ns` and resolve with the first payload on `topic` (the
 * retained one or a new one) that `check` accepts; bounded by mosquitto_sub's own -W timeout. */
export async function mosquittoSubUntil(ns: Netns, port: number, topic: string, check: (payload: string) => boolean, timeoutS = 60): Promise<string> {
  const sub = ns.spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-W', String(timeoutS)]);
  let last = '';
  try {
    return await new Promise<string>((resolve, reject) => {
      createInterface({ input: sub.stdout! }).on('line', (line) => {
        last = line;
        if (check(line)) resolve(line);
      });
      sub.once('exit', () => reject(new Error(`${topic} never satisfied the condition in ${timeoutS} s; last: ${last}`)));
    });
  } finally {
    sub.kill('SIGTERM');
  }
}
