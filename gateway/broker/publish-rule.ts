/**
 * Who may publish what on the embedded broker: the one rule for PUBLISH packets and for wills.
 *
 * Only the gateway speaks for lamps: state, availability, stats, the gateway's status and errors and
 * Home Assistant discovery come from its in-process connection and from nothing else, with or
 * without client credentials. Otherwise any local client could turn the gateway's badge red, create
 * phantom lamps or leave a retained command that every later subscriber (and every gateway start)
 * receives. Other clients may publish commands, and only unretained ones.
 */
import { parseCommandTopic } from '../../protocol/mqtt-topics.js';

/** Why a publish or will was refused; the label of the refusals metric. */
export const PUBLISH_REFUSALS = [
  'reserved',         // a $SYS/ topic: the broker's own
  'not-a-command',    // a client publishing anything but a .../set command
  'retained-command', // a .../set command with the retain flag: it would be stored and replayed
] as const;
export type PublishRefusalReason = (typeof PUBLISH_REFUSALS)[number];

export interface PublishRefusal {
  reason: PublishRefusalReason;
  /** Names the client and the topic, and says what is allowed instead (the MQTT 5 reason string). */
  message: string;
}

/** Why the client `clientId` (the gateway's own connection when `fromGateway`) may not publish to
 * `topic` with the retain flag `retain`, or null when it may. */
export function publishRefusal(clientId: string, fromGateway: boolean, topic: string, retain: boolean): PublishRefusal | null {
  if (topic.startsWith('$SYS/')) return { reason: 'reserved', message: `'${topic}': $SYS/ topics are reserved for the broker` };
  if (fromGateway) return null;
  if (parseCommandTopic(topic) === null) {
    return { reason: 'not-a-command', message: `client '${clientId}' may publish only .../set commands, not '${topic}': only the gateway publishes lamp state, availability, stats and status` };
  }
  if (retain) {
    return { reason: 'retained-command', message: `client '${clientId}' published a retained command on '${topic}': it would be replayed to every later subscriber; publish commands without the retain flag` };
  }
  return null;
}
