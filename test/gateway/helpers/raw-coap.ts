/** A bare UDP socket speaking hand-built CoAP (the firmware's codec), to play a lamp exactly. */
import dgram from 'node:dgram';
import { URI_PATH, URI_QUERY, CONTENT_FORMAT, FORMAT_LINK } from '../../../protocol/coap.js';
import { emitCoap, parseCoap, type CoapMessage } from '../../helpers/coap-message.js';

export interface Datagram {
  from: string;
  port: number;
  data: Buffer;
  msg: CoapMessage | null;
}

export interface RawCoap {
  readonly port: number;
  readonly received: Datagram[];
  send(data: Uint8Array, port: number, host?: string): void;
  /** The next datagram not yet taken (waits for it). */
  next(timeoutMs?: number): Promise<Datagram>;
  close(): Promise<void>;
}

export async function rawCoap(host = '127.0.0.1'): Promise<RawCoap> {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const received: Datagram[] = [];
  let taken = 0;
  const waiters: (() => void)[] = [];
  socket.on('message', (data, rinfo) => {
    received.push({ from: rinfo.address, port: rinfo.port, data, msg: parseCoap(data) });
    waiters.splice(0).forEach((w) => w());
  });
  await new Promise<void>((resolve) => socket.bind(0, host, resolve));
  return {
    port: socket.address().port,
    received,
    send: (data, port, to = host) => socket.send(data, port, to),
    next(timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const take = (): boolean => {
          if (taken >= received.length) return false;
          resolve(received[taken++]);
          return true;
        };
        if (take()) return;
        const timer = setTimeout(() => reject(new Error(`no datagram within ${timeoutMs} ms`)), timeoutMs);
        const retry = (): void => {
          if (take()) clearTimeout(timer);
          else waiters.push(retry);
        };
        waiters.push(retry);
      });
    },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/** A CoAP request as a lamp would build it (a payload is link format: a Register's or Update's). */
export function request(type: number, code: number, mid: number, path: string[], query: string[] = [], payload = '', token = [1, 2, 3, 4]): Uint8Array {
  return emitCoap({
    type,
    code,
    mid,
    token: new Uint8Array(token),
    options: [
      ...path.map((p) => ({ num: URI_PATH, value: text(p) })),
      ...(payload ? [{ num: CONTENT_FORMAT, value: new Uint8Array([FORMAT_LINK]) }] : []),
      ...query.map((q) => ({ num: URI_QUERY, value: text(q) })),
    ],
    payload: text(payload),
  });
}
