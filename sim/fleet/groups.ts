/**
 * The multicast groups the lamps joined (`street-<k>` and any set by config): group address →
 * member lamp indices, found from a packet's destination bytes without building a string.
 */
import { groupAddress } from '../../protocol/lamp.js';
import { read32 } from '../../ipv6/wire/bytes.js';
import { parseIpv6 } from '../../ipv6/wire/address.js';

interface Group {
  addr: Uint8Array;
  members: number[];
}

export class GroupTable {
  /** Keyed by the low 32 bits of the group address (a hash of the name, see groupAddress). */
  private readonly byLow = new Map<number, Group[]>();
  private readonly byName = new Map<string, Group>();

  join(name: string, index: number): void {
    let group = this.byName.get(name);
    if (!group) {
      const addr = parseIpv6(groupAddress(name))!;
      group = { addr, members: [] };
      this.byName.set(name, group);
      const low = read32(addr, 12);
      const list = this.byLow.get(low);
      if (list) list.push(group);
      else this.byLow.set(low, [group]);
    }
    if (!group.members.includes(index)) group.members.push(index);
  }

  leave(name: string, index: number): void {
    const members = this.byName.get(name)?.members;
    const at = members ? members.indexOf(index) : -1;
    if (at >= 0) members!.splice(at, 1);
  }

  leaveAll(index: number): void {
    for (const group of this.byName.values()) {
      const at = group.members.indexOf(index);
      if (at >= 0) group.members.splice(at, 1);
    }
  }

  forEachMember(buf: Uint8Array, off: number, fn: (index: number) => void): void {
    const list = this.byLow.get(read32(buf, off + 12));
    if (!list) return;
    for (const group of list) {
      let same = true;
      for (let i = 0; i < 16 && same; i++) same = group.addr[i] === buf[off + i];
      if (same) for (let i = 0; i < group.members.length; i++) fn(group.members[i]);
    }
  }

  members(name: string): readonly number[] {
    return this.byName.get(name)?.members ?? [];
  }

  get size(): number {
    return this.byName.size;
  }
}
