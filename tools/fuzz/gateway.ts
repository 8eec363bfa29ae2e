/**
 * The gateway's lamp-facing side on a fuzzed fleet: the real `ResourceDirectory` over a real
 * `LampRegistry`, attached to the memory link as the in-process gateway attaches
 * (`sim.gatewayEndpoint`), so every registration and update the lamps send, after whatever the
 * fuzzer did to them, goes through the real registration decoder and directory. Every message the
 * lamps send it is also checked: well-formed CoAP from inside the prefix. A share of them is lost
 * on the way, so lamps retransmit and register anew. It answers from inside the link's delivery,
 * so its packets take the link's backlog: the host never runs inside itself.
 */
import { coapReader, readCoap } from '../../protocol/coap.js';
import { COAP_PORT } from '../../protocol/lamp.js';
import type { DatagramEndpoint } from '../../protocol/datagram.js';
import { inPrefix, writeIpv6 } from '../../ipv6/wire/address.js';
import type { Prng } from '../../sim/random.js';
import type { FleetClock } from '../../sim/scheduler.js';
import { LampRegistry } from '../../gateway/registry.js';
import { ResourceDirectory } from '../../gateway/lamps/resource-directory.js';
import type { OutputCheck } from './output-check.js';

/** Share of the lamps' messages lost before they reach the directory. */
const LOSS = 0.05;

export interface FuzzGatewayReport {
  /** Lamps the directory knows, and how many of them are online. */
  lamps: number;
  online: number;
  registered: number;
  updated: number;
  /** Lamps' messages lost on the way (see LOSS). */
  lost: number;
  /** Requests the directory refused or dropped, by kind. */
  refused: Record<string, number>;
}

export class FuzzGateway {
  /** Datagrams the directory sent to lamps (each one more packet the host receives). */
  answers = 0;
  readonly registry = new LampRegistry();
  private registered = 0;
  private updated = 0;
  private lost = 0;
  private readonly refused = new Map<string, number>();
  private readonly directory: ResourceDirectory;
  private readonly reader = coapReader();
  private readonly from = new Uint8Array(16);

  constructor(
    endpoint: DatagramEndpoint,
    private readonly address: Uint8Array,
    private readonly prefix: Uint8Array,
    private readonly output: OutputCheck,
    private readonly rng: Prng,
    clock: FleetClock,
  ) {
    this.directory = new ResourceDirectory(this.registry, (to, port, data) => {
      this.answers++;
      endpoint.send(to, port, data);
    }, {
      registered: () => { this.registered++; },
      updated: () => { this.updated++; },
      deregistered: () => {},
      dropped: (kind) => { this.refused.set(kind, (this.refused.get(kind) ?? 0) + 1); },
    }, { now: () => clock.now() });
    endpoint.onMessage(this.onMessage);
  }

  /** Takes lamps whose registration lapsed offline, as the gateway does every second. */
  sweep(now: number): void {
    this.registry.sweep(now, () => {});
  }

  report(): FuzzGatewayReport {
    return {
      lamps: this.registry.size, online: this.registry.onlineCount, registered: this.registered, updated: this.updated,
      lost: this.lost, refused: Object.fromEntries(this.refused),
    };
  }

  private readonly onMessage = (from: string, port: number, data: Uint8Array): void => {
    const r = this.reader;
    if (!readCoap(r, data, 0, data.length)) return this.output.gatewayProblem(`a lamp sent the gateway malformed CoAP (${r.error})`, data);
    if (!writeIpv6(from, this.from, 0) || !inPrefix(this.from, 0, this.prefix, 64)) {
      return this.output.gatewayProblem(`a lamp at ${from} outside the prefix sent the gateway a message`, data);
    }
    this.output.lampMessage(r, this.address, 0, COAP_PORT);
    if (this.rng.chance(LOSS)) {
      this.lost++;
      return;
    }
    // Requests (registrations, updates, pings) go to the directory; the lamps' responses answer
    // requests this gateway never sends, so nothing awaits them.
    if (r.code >> 5 === 0) this.directory.handle(r, from, port);
  };
}
