/**
 * Sends a board `count` confirmable PUTs of /3311/0/5851 (levels cycling 0..100), one at a time
 * as the gateway does (NSTART = 1), each waiting for its ACK (retransmitted as RFC 7252 says), and
 * prints one JSON line: {"sent","changed","refused","timeouts"}. Run inside the gateway's namespace
 * of a BoardLab (espruino-board.ts), from the gateway's address, which the board trusts.
 *
 *   node dist/bench/probes/board-commands.js <from-ipv4> <board-ipv4> <count>
 */
import { createSocket } from 'node:dgram';
import { ACK, ACK_TIMEOUT, CHANGED, CON, CONTENT_FORMAT, FORMAT_TEXT, MAX_RETRANSMIT, PUT, URI_PATH, coapReader, coapWriter, readCoap, writeBegin, writeEnd, writeOption, writePayload } from '../../protocol/coap.js';
import { COAP_PORT } from '../../protocol/lamp.js';
import { DIMMER, LIGHT_CONTROL } from '../../protocol/lwm2m/objects.js';

const [from, board, countText] = process.argv.slice(2);
const count = Number(countText);
if (!from || !board || !(count >= 1 && count <= 100_000)) {
  console.error('usage: board-commands <from-ipv4> <board-ipv4> <count 1-100000>');
  process.exit(2);
}

const socket = createSocket('udp4');
const writer = coapWriter();
const reader = coapReader();
const buf = new Uint8Array(64);
let onAck: ((code: number) => void) | null = null;
let mid = 0;

socket.on('message', (data) => {
  if (readCoap(reader, new Uint8Array(data), 0, data.length) && reader.type === ACK && reader.mid === mid) onAck?.(reader.code);
});

/** One exchange: the answer's code, or -1 after the last retransmission went unanswered. */
function exchange(level: number): Promise<number> {
  mid = (mid + 1) & 0xffff;
  writeBegin(writer, buf, 0, CON, PUT, mid, null, 0, 0);
  for (const segment of [LIGHT_CONTROL, 0, DIMMER]) writeOption(writer, URI_PATH, String(segment));
  writeOption(writer, CONTENT_FORMAT, FORMAT_TEXT);
  writePayload(writer, String(level));
  const message = buf.slice(0, writeEnd(writer));
  return new Promise((resolve) => {
    let tries = 0;
    let timer: NodeJS.Timeout;
    const send = (): void => {
      socket.send(message, COAP_PORT, board);
      timer = setTimeout(() => (tries++ < MAX_RETRANSMIT ? send() : finish(-1)), ACK_TIMEOUT * 2 ** tries);
    };
    const finish = (code: number): void => {
      clearTimeout(timer);
      onAck = null;
      resolve(code);
    };
    onAck = finish;
    send();
  });
}

socket.bind(0, from, async () => {
  const result = { sent: 0, changed: 0, refused: 0, timeouts: 0 };
  for (let i = 0; i < count; i++) {
    const code = await exchange(i % 101);
    result.sent++;
    if (code === CHANGED) result.changed++;
    else if (code < 0) result.timeouts++;
    else result.refused++;
  }
  console.log(JSON.stringify(result));
  socket.close();
});
