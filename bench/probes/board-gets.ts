/**
 * Sends a board `count` confirmable GETs of /3311/0/5851, one at a time, each waiting for its
 * piggybacked 2.05 answer (or ACK_TIMEOUT, then counted lost), and prints one JSON line:
 * {"sent","confirmed","errors","lost","seconds"}. The board's address decides the path: its IPv4
 * address (straight) or its board address (through the gateway's translator). Run in the client's
 * namespace of a SiitLab (siit-lab.ts).
 *
 *   node dist/bench/probes/board-gets.js <board-address> <count>
 */
import { createSocket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { ACK, ACK_TIMEOUT, CON, CONTENT, GET, URI_PATH, coapReader, coapWriter, readCoap, writeBegin, writeEnd, writeOption } from '../../protocol/coap.js';
import { COAP_PORT } from '../../protocol/lamp.js';
import { DIMMER, LIGHT_CONTROL } from '../../protocol/lwm2m/objects.js';

const [board, countText] = process.argv.slice(2);
const count = Number(countText);
if (!board || !(count >= 1 && count <= 100_000)) {
  console.error('usage: board-gets <board-address> <count 1-100000>');
  process.exit(2);
}

const socket = createSocket(isIPv4(board) ? 'udp4' : 'udp6');
const writer = coapWriter();
const reader = coapReader();
const buf = new Uint8Array(64);
let onAnswer: ((code: number) => void) | null = null;
let mid = 0;

socket.on('message', (data) => {
  if (readCoap(reader, new Uint8Array(data), 0, data.length) && reader.type === ACK && reader.mid === mid) onAnswer?.(reader.code);
});

/** One exchange: the answer's code, or -1 when none came within ACK_TIMEOUT. */
function exchange(): Promise<number> {
  mid = (mid + 1) & 0xffff;
  writeBegin(writer, buf, 0, CON, GET, mid, null, 0, 0);
  for (const segment of [LIGHT_CONTROL, 0, DIMMER]) writeOption(writer, URI_PATH, String(segment));
  socket.send(buf.subarray(0, writeEnd(writer)), COAP_PORT, board);
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(-1), ACK_TIMEOUT);
    const finish = (code: number): void => {
      clearTimeout(timer);
      onAnswer = null;
      resolve(code);
    };
    onAnswer = finish;
  });
}

socket.bind(0, async () => {
  const result = { sent: 0, confirmed: 0, errors: 0, lost: 0, seconds: 0 };
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const code = await exchange();
    result.sent++;
    if (code === CONTENT) result.confirmed++;
    else if (code < 0) result.lost++;
    else result.errors++;
  }
  result.seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify(result));
  socket.close();
});
