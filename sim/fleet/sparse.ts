/**
 * The sparse fleet's (`lamps: 'all'`) map from a 64-bit interface identifier to a lamp index:
 * open addressing over typed arrays, since a Map keyed by strings would cost an allocation per
 * packet and far more memory per lamp at millions of lamps.
 */
export class SparseIds {
  private keysHi = new Uint32Array(1 << 16);
  private keysLo = new Uint32Array(1 << 16);
  private values = new Int32Array(1 << 16).fill(-1);
  /** The identifier of each index, for writing a lamp's address (index 0 is no lamp). */
  private readonly hiOf: number[] = [0];
  private readonly loOf: number[] = [0];
  size = 0;

  /** The index of identifier hi:lo, or -1. */
  get(hi: number, lo: number): number {
    const mask = this.values.length - 1;
    for (let h = this.hash(hi, lo) & mask; ; h = (h + 1) & mask) {
      const v = this.values[h];
      if (v < 0 || (this.keysHi[h] === hi && this.keysLo[h] === lo)) return v;
    }
  }

  /** Gives identifier hi:lo (not yet in the table) the next index, 1, 2, ..., and returns it. */
  add(hi: number, lo: number): number {
    const index = this.hiOf.length;
    this.hiOf.push(hi);
    this.loOf.push(lo);
    this.set(hi, lo, index);
    return index;
  }

  hi(index: number): number {
    return this.hiOf[index];
  }

  lo(index: number): number {
    return this.loOf[index];
  }

  private set(hi: number, lo: number, value: number): void {
    if ((this.size + 1) * 2 > this.values.length) this.grow();
    const mask = this.values.length - 1;
    let h = this.hash(hi, lo) & mask;
    while (this.values[h] >= 0) h = (h + 1) & mask;
    this.keysHi[h] = hi;
    this.keysLo[h] = lo;
    this.values[h] = value;
    this.size++;
  }

  private hash(hi: number, lo: number): number {
    return (Math.imul(hi ^ (lo >>> 16), 0x45d9f3b) ^ Math.imul(lo, 0x9e3779b1)) >>> 0;
  }

  private grow(): void {
    const { keysHi, keysLo, values } = this;
    this.keysHi = new Uint32Array(values.length * 2);
    this.keysLo = new Uint32Array(values.length * 2);
    this.values = new Int32Array(values.length * 2).fill(-1);
    this.size = 0;
    for (let i = 0; i < values.length; i++) if (values[i] >= 0) this.set(keysHi[i], keysLo[i], values[i]);
  }
}
