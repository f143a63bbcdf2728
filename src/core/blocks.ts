/**
 * Per-file data of exports of a million files (sizes, times, digests, names)
 * in fixed blocks rather than arrays that double. Growing copies nothing and
 * leaves no outgrown array behind. At a million files the doubling arrays
 * held old and new copies at once: ~30 MB of verify's peak, and seal's walk
 * (whose arrays were trimmed at the end, one more copy) peaked at 262 MB
 * with them and 190 MB without. No `node:` import (the verifier page reads
 * bundles with the same table).
 */

/** Entries per block of numbers and records. */
const SHIFT = 16;
const MASK = (1 << SHIFT) - 1;

/** Numbers appended in order, read by index. */
export class Numbers<T extends Float64Array | Uint32Array | Uint8Array> {
  private readonly blocks: T[] = [];
  length = 0;
  constructor(private readonly make: (n: number) => T) {}
  push(x: number): void {
    const b = this.length >>> SHIFT;
    if (b === this.blocks.length) this.blocks.push(this.make(1 << SHIFT));
    this.blocks[b]![this.length & MASK] = x;
    this.length++;
  }
  get(i: number): number {
    return this.blocks[i >>> SHIFT]![i & MASK]!;
  }
}

export const float64s = (): Numbers<Float64Array> => new Numbers((n) => new Float64Array(n));
export const uint32s = (): Numbers<Uint32Array> => new Numbers((n) => new Uint32Array(n));
export const uint8s = (): Numbers<Uint8Array> => new Numbers((n) => new Uint8Array(n));

/** Fixed-length byte records (digests): record r is `len` bytes at block(r)[offset(r)]. */
export class Records {
  private readonly blocks: Uint8Array[] = [];
  /** Records 0 .. length-1 have room (zero until written). */
  length = 0;
  constructor(readonly len: number) {}
  /** Makes room for records up to r. */
  reach(r: number): void {
    while (this.blocks.length <= r >>> SHIFT) this.blocks.push(new Uint8Array(this.len << SHIFT));
    if (r >= this.length) this.length = r + 1;
  }
  block(r: number): Uint8Array {
    return this.blocks[r >>> SHIFT]!;
  }
  offset(r: number): number {
    return (r & MASK) * this.len;
  }
  view(r: number): Uint8Array {
    const at = this.offset(r);
    return this.block(r).subarray(at, at + this.len);
  }
}

const EMPTY = new Uint8Array(0);

/** Bytes per block of byte strings: a string never straddles two. */
const RUN_BLOCK = 1 << 20;

/** Byte strings (names) appended in order, each at most RUN_BLOCK bytes, read by index as views. */
export class ByteRuns {
  private readonly blocks: Uint8Array[] = [];
  /** Where each string ends, as block × RUN_BLOCK + offset; it starts where the one before ends, or at its block's start. */
  private readonly ends = float64s();
  private used = 0;
  get length(): number {
    return this.ends.length;
  }
  push(bytes: Uint8Array): number {
    if (bytes.length > RUN_BLOCK) throw new RangeError(`a name of ${bytes.length} bytes`);
    if (this.blocks.length === 0 || this.used + bytes.length > RUN_BLOCK) {
      this.blocks.push(new Uint8Array(RUN_BLOCK));
      this.used = 0;
    }
    this.blocks[this.blocks.length - 1]!.set(bytes, this.used);
    this.used += bytes.length;
    this.ends.push((this.blocks.length - 1) * RUN_BLOCK + this.used);
    return this.ends.length - 1;
  }
  /** String i (a view into its block). */
  at(i: number): Uint8Array {
    const end = this.ends.get(i);
    const prev = i === 0 ? 0 : this.ends.get(i - 1);
    if (end === prev) return EMPTY;
    const block = Math.floor((end - 1) / RUN_BLOCK);
    const base = block * RUN_BLOCK;
    return this.blocks[block]!.subarray(Math.max(prev, base) - base, end - base);
  }
}
