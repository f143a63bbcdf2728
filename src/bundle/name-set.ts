/**
 * A set of member names in a few typed arrays: their UTF-8 bytes end to end,
 * an open-addressing table of indexes, one flag byte each. A million names
 * in a JavaScript Set took ~300 MB; here they take their bytes plus ~13.
 *
 * The bytes live in blocks of BLOCK bytes (a name never straddles two), not
 * in one buffer that doubles: the last doubling held 32 + 64 MB at once for
 * the names of a million members, and left a third of it unused.
 *
 * A name may start with a name of another set (its folder, in a set of
 * folders): only the bytes after it are kept, with the other name's index.
 * A million member names ~70 bytes long, ~58 of them their folder's, then
 * take ~16 bytes each instead of ~70.
 *
 * Threat: a hostile archive choosing names that collide in the table, so
 * that every insertion walks a long chain (verify would hang). The bucket
 * comes from a polynomial hash over the bytes modulo 2^31-1 at a point drawn
 * at random for each set: for any two different names of at most L bytes the
 * chance they collide is at most L/2^31 whatever names the archive chose
 * (a universal family), so chains stay short. Equality is always decided on
 * the bytes themselves.
 *
 * The hash is computed without the floating-point remainder (`%` on numbers
 * past 2^31 calls fmod, ~20 ns a byte): 2^31 = 1 mod P, so a product is
 * reduced by adding its high bits to its low ones. The value is the same.
 * Being evaluated byte by byte from the left, the hash of every prefix of a
 * name is a step of the name's own (prefixHashes): a reader checking the
 * folders above a member hashes its name once, with a second set made on the
 * same point (new NameSet(other.point)).
 */
const P = 2147483647; // 2^31 - 1
const TWO31 = 2147483648;
const INV_TWO31 = 1 / TWO31;
/** Bytes per block of names (a name is at most 4096 bytes: tar-names.ts MAX_NAME_BYTES, and a pax path is bounded too). */
const BLOCK = 1 << 20;
const EMPTY = new Uint8Array(0);

/**
 * (h * y + s) mod P, for h < P, y = yh * 2^16 + yl < P and 0 <= s < 2^34: every
 * intermediate stays below 2^53 (exact as a number), and a value is reduced
 * by adding its bits above 2^31 to those below (2^31 = 1 mod P).
 */
function mulAdd(h: number, yh: number, yl: number, s: number): number {
  let a = h * yh; // < 2^46
  let q = (a * INV_TWO31) | 0;
  a = a - q * TWO31 + q; // < 2^31 + 2^15
  const v = a * 65536 + h * yl + s; // < 2^48 + 2^34
  q = (v * INV_TWO31) | 0;
  const r = v - q * TWO31 + q; // < 2^31 + 2^17
  return r >= P ? r - P : r;
}

function randomPoint(): number {
  const r = new Uint32Array(1);
  globalThis.crypto.getRandomValues(r);
  return 1 + (r[0]! % (P - 2));
}

export class NameSet {
  private readonly blocks: Uint8Array[] = [];
  /** Offset of the next byte in the blocks laid end to end. */
  private used = 0;
  private ends = new Uint32Array(1 << 10);
  private flagsOf = new Uint8Array(1 << 10);
  /** Each name's hash, so that growing the table does not hash every name again. */
  private hashes = new Uint32Array(1 << 10);
  /** 1 + the index in `prefixes` of the name a name starts with; 0 when it is kept whole. */
  private prefixOf = new Int32Array(1 << 10);
  private scratch = new Uint8Array(256);
  private table = new Int32Array(1 << 11);
  size = 0;
  /** The point and its powers 2 to 4, each split in its high 15 and low 16 bits (see mulAdd). */
  private readonly x1h: number;
  private readonly x1l: number;
  private readonly x2h: number;
  private readonly x2l: number;
  private readonly x3h: number;
  private readonly x3l: number;
  private readonly x4h: number;
  private readonly x4l: number;
  /** tk[c] = (c + 1) * point^k mod P: a run of bytes is hashed four at a time, one product on the chain per four. */
  private readonly t1 = new Float64Array(256);
  private readonly t2 = new Float64Array(256);
  private readonly t3 = new Float64Array(256);

  /**
   * `point`: the point another set hashes at (its `point`), so that one hash serves both; by default a random one.
   * `prefixes`: the set whose names the names added here may start with (see add).
   */
  constructor(
    readonly point: number = randomPoint(),
    private readonly prefixes?: NameSet,
  ) {
    if (!Number.isInteger(point) || point < 1 || point >= P) throw new RangeError(`bad hash point ${point}`);
    // Products below 2^62 would lose bits as numbers: BigInt here, once per set.
    const x = BigInt(point);
    const p = BigInt(P);
    const pow = [1n, x, (x * x) % p, (x * x * x) % p, (x * x * x * x) % p].map(Number);
    [this.x1h, this.x1l] = [Math.floor(pow[1]! / 65536), pow[1]! % 65536];
    [this.x2h, this.x2l] = [Math.floor(pow[2]! / 65536), pow[2]! % 65536];
    [this.x3h, this.x3l] = [Math.floor(pow[3]! / 65536), pow[3]! % 65536];
    [this.x4h, this.x4l] = [Math.floor(pow[4]! / 65536), pow[4]! % 65536];
    for (let c = 0; c < 256; c++) {
      this.t1[c] = ((c + 1) * pow[1]!) % P;
      this.t2[c] = ((c + 1) * pow[2]!) % P;
      this.t3[c] = ((c + 1) * pow[3]!) % P;
    }
  }

  /**
   * The name's hash: the sum of (byte + 1) * point^(bytes after it) mod P,
   * as Horner's rule computes it from the first byte
   * (h = h * point + byte + 1 mod P).
   */
  hash(b: Uint8Array): number {
    return this.run(0, b, 0, b.length);
  }

  /**
   * For each byte equal to `sep`, in order, the hash of the bytes before it,
   * written to out[0..n-1]; the name's own hash to out[n]. Returns n. `out`
   * must have room (b.length + 1 always does).
   */
  prefixHashes(b: Uint8Array, sep: number, out: Int32Array): number {
    const len = b.length;
    let h = 0;
    let n = 0;
    for (let i = 0; i < len; ) {
      if (b[i] === sep) out[n++] = h;
      let j = i + 1;
      while (j < len && b[j] !== sep) j++;
      h = this.run(h, b, i, j);
      i = j;
    }
    out[n] = h;
    return n;
  }

  /** Horner's rule from h over bytes [i, end) of b, four bytes a step: h * point^4 + (c0 + 1) * point^3 + … + (c3 + 1). */
  private run(h: number, b: Uint8Array, i: number, end: number): number {
    const t1 = this.t1;
    const t2 = this.t2;
    const t3 = this.t3;
    for (; i + 4 <= end; i += 4) h = mulAdd(h, this.x4h, this.x4l, t3[b[i]!]! + t2[b[i + 1]!]! + t1[b[i + 2]!]! + b[i + 3]! + 1);
    switch (end - i) {
      case 3:
        return mulAdd(h, this.x3h, this.x3l, t2[b[i]!]! + t1[b[i + 1]!]! + b[i + 2]! + 1);
      case 2:
        return mulAdd(h, this.x2h, this.x2l, t1[b[i]!]! + b[i + 1]! + 1);
      case 1:
        return mulAdd(h, this.x1h, this.x1l, b[i]! + 1);
      default:
        return h;
    }
  }

  /** Name k's block and where it starts and ends in it (a name ends in the block of its last byte). */
  private span(k: number): { a: Uint8Array; start: number; end: number } {
    const end = this.ends[k]!;
    const prev = k === 0 ? 0 : this.ends[k - 1]!;
    if (end === prev) return { a: EMPTY, start: 0, end: 0 };
    const block = Math.floor((end - 1) / BLOCK);
    const base = block * BLOCK;
    return { a: this.blocks[block]!, start: Math.max(prev, base) - base, end: end - base };
  }

  /** Whether name k is the first `n` bytes of b. */
  private equals(k: number, b: Uint8Array, n: number): boolean {
    let j = 0;
    const p = this.prefixOf[k]! - 1;
    if (p >= 0) {
      const { a, start, end } = this.prefixes!.span(p);
      if (end - start > n) return false;
      for (let i = start; i < end; i++, j++) if (a[i] !== b[j]) return false;
    }
    const { a, start, end } = this.span(k);
    if (end - start !== n - j) return false;
    for (let i = start; i < end; i++, j++) if (a[i] !== b[j]) return false;
    return true;
  }

  /**
   * Name k without its first `skip` bytes, compared with b in byte order: negative, 0 or positive (as
   * compareBytes), without putting the name together.
   */
  compareWith(k: number, b: Uint8Array, skip = 0): number {
    let j = 0;
    const p = this.prefixOf[k]! - 1;
    if (p >= 0) {
      const { a, start, end } = this.prefixes!.span(p);
      for (let i = start + skip; i < end; i++, j++) {
        if (j === b.length) return 1;
        if (a[i] !== b[j]) return a[i]! < b[j]! ? -1 : 1;
      }
      skip = Math.max(0, skip - (end - start));
    }
    const { a, start, end } = this.span(k);
    for (let i = start + skip; i < end; i++, j++) {
      if (j === b.length) return 1;
      if (a[i] !== b[j]) return a[i]! < b[j]! ? -1 : 1;
    }
    return j === b.length ? 0 : -1;
  }

  /** Index of the name (UTF-8 bytes) or -1. */
  find(b: Uint8Array): number {
    return this.lookup(b, this.hash(b));
  }

  /**
   * find, given the name's hash at this set's point (hash or prefixHashes of this set or one made on its
   * point); the name is the first `n` bytes of b (a folder looked up in a member's name without a view of it).
   */
  findHashed(b: Uint8Array, h: number, n = b.length): number {
    return this.lookup(b, h, n);
  }

  private lookup(b: Uint8Array, h: number, n = b.length): number {
    const mask = this.table.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const e = this.table[s]!;
      if (e === 0) return -1;
      if (this.hashes[e - 1] === h && this.equals(e - 1, b, n)) return e - 1;
    }
  }

  /** Adds the name with its flags and returns its index; if it is there already, returns ~index (negative) and adds nothing. */
  addNew(b: Uint8Array, flags: number): number {
    return this.addNewHashed(b, flags, this.hash(b));
  }

  /**
   * addNew, given the name's hash (see findHashed). `prefix`: the index in `prefixes` of a name that b
   * starts with (the caller found it there): only the bytes after it are kept.
   */
  addNewHashed(b: Uint8Array, flags: number, h: number, prefix = -1): number {
    const k = this.lookup(b, h);
    return k >= 0 ? ~k : this.insert(b, flags, h, prefix);
  }

  /** The UTF-8 bytes of name k (a view: valid until the next bytesOf or add). */
  bytesOf(k: number): Uint8Array {
    const { a, start, end } = this.span(k);
    const p = this.prefixOf[k]! - 1;
    if (p < 0) return a.subarray(start, end);
    const head = this.prefixes!.span(p);
    const n = head.end - head.start;
    if (this.scratch.length < n + end - start) this.scratch = new Uint8Array(2 * (n + end - start));
    this.scratch.set(head.a.subarray(head.start, head.end));
    this.scratch.set(a.subarray(start, end), n);
    return this.scratch.subarray(0, n + end - start);
  }

  flags(k: number): number {
    return this.flagsOf[k]!;
  }

  /** Adds a name not in the set (the caller checked) with its flags; returns its index. */
  add(b: Uint8Array, flags: number): number {
    return this.insert(b, flags, this.hash(b));
  }

  /** add, given the name's hash (see findHashed). */
  addHashed(b: Uint8Array, flags: number, h: number): number {
    return this.insert(b, flags, h);
  }

  private insert(b: Uint8Array, flags: number, h: number, prefix = -1): number {
    if ((this.size + 1) * 2 > this.table.length) this.grow();
    if (prefix >= 0) {
      const { start, end } = this.prefixes!.span(prefix);
      b = b.subarray(end - start);
    }
    if (b.length > BLOCK) throw new RangeError(`a name of ${b.length} bytes`);
    let block = Math.floor(this.used / BLOCK);
    if (b.length > 0 && (this.used % BLOCK + b.length > BLOCK || block === this.blocks.length)) {
      // A new block: the name does not fit in what is left of this one (or there is none yet).
      if (this.used % BLOCK !== 0) block++;
      this.used = block * BLOCK;
      if (this.used + BLOCK > 0xffffffff) throw new RangeError('more than 4 GiB of names');
      this.blocks.push(new Uint8Array(BLOCK));
    }
    const k = this.size++;
    if (b.length > 64) this.blocks[block]!.set(b, this.used - block * BLOCK);
    else if (b.length > 0) {
      // Byte by byte: set() costs more than copying a name this short.
      const to = this.blocks[block]!;
      const at = this.used - block * BLOCK;
      for (let i = 0; i < b.length; i++) to[at + i] = b[i]!;
    }
    this.used += b.length;
    if (k === this.ends.length) {
      const e = new Uint32Array(this.ends.length * 2);
      e.set(this.ends);
      this.ends = e;
      const f = new Uint8Array(this.flagsOf.length * 2);
      f.set(this.flagsOf);
      this.flagsOf = f;
      const hs = new Uint32Array(this.hashes.length * 2);
      hs.set(this.hashes);
      this.hashes = hs;
      const ps = new Int32Array(this.prefixOf.length * 2);
      ps.set(this.prefixOf);
      this.prefixOf = ps;
    }
    this.prefixOf[k] = prefix + 1;
    this.ends[k] = this.used;
    this.flagsOf[k] = flags;
    this.hashes[k] = h;
    this.place(h, k);
    return k;
  }

  private place(h: number, k: number): void {
    const mask = this.table.length - 1;
    let s = h & mask;
    while (this.table[s] !== 0) s = (s + 1) & mask;
    this.table[s] = k + 1;
  }

  private grow(): void {
    this.table = new Int32Array(this.table.length * 2);
    // Every name so far, re-placed from its kept hash (insert grows before it adds the new one).
    for (let k = 0; k < this.size; k++) this.place(this.hashes[k]!, k);
  }
}
