/**
 * What a reader keeps of each payload member until the tag files that follow
 * the payload (manifest-<alg>.txt, custody/manifest.json, the piece list) have
 * been checked against it: its name, size, item, the digests computed (or, in
 * pieces mode, those the flat manifests state) and its piece SHA-256s and
 * Merkle root — in typed arrays kept in blocks, not an object per member.
 *
 * Threat: a bundle of a million tiny members exhausting memory. Objects and
 * hex strings cost ~1 KB a member (verify of 200,000 members took 352 MB);
 * here a member costs its name's bytes plus ~100 bytes of binary digests.
 * Lookups by name go through a permutation sorted by name bytes (binary
 * search, and a cursor for the sorted streams the manifests are), so a hostile
 * choice of names cannot degrade them the way it can degrade a hash table;
 * where the members already come in name order (custody seals them so) no
 * permutation is built. The Merkle root of a one-piece member is not kept:
 * RFC 6962 makes it SHA-256(0x00 ‖ its piece digest), recomputed when compared.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { float64s, Records, uint32s, uint8s } from '../core/blocks.js';
import { ByteBuffer } from '../core/bytes.js';
import type { PieceDigests } from '../core/hasher.js';
import { compareBytes } from '../custody/encoding.js';

const encoder = new TextEncoder();
let scratch = new Uint8Array(1024);

/**
 * UTF-8 bytes of a name in a scratch buffer (valid until the next call; as
 * custody/encoding's utf8, a lone surrogate becomes U+FFFD): per-line and
 * per-member encoding with TextEncoder.encode was a tenth of verify's time.
 */
export function utf8Scratch(s: string): Uint8Array {
  const n = s.length;
  if (scratch.length < n * 3) scratch = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return scratch.subarray(0, encoder.encodeInto(s, scratch).written);
    scratch[i] = c;
  }
  return scratch.subarray(0, n);
}

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  throw new RangeError('not hex');
}

/** Writes the bytes of a hex string at `at` (no allocation). */
function hexInto(hex: string, out: Uint8Array, at: number): void {
  for (let j = 0; j < hex.length; j += 2) out[at + j / 2] = (nibble(hex.charCodeAt(j)) << 4) | nibble(hex.charCodeAt(j + 1));
}

/** True when the bytes at `at` are those of the lowercase hex string. */
export function hexEquals(bytes: Uint8Array, at: number, len: number, hex: string): boolean {
  if (hex.length !== 2 * len) return false;
  const H = '0123456789abcdef';
  for (let j = 0; j < len; j++) {
    const b = bytes[at + j]!;
    if (hex.charCodeAt(2 * j) !== H.charCodeAt(b >> 4) || hex.charCodeAt(2 * j + 1) !== H.charCodeAt(b & 15)) return false;
  }
  return true;
}

const HEX_DIGITS = encoder.encode('0123456789abcdef');

/**
 * `len` bytes at `at` equal the 2 × len lowercase hex digits at text[from]
 * (ASCII bytes, as a manifest line holds them: the tag files are checked
 * without decoding each line to a string).
 */
export function hexTextEquals(bytes: Uint8Array, at: number, len: number, text: Uint8Array, from: number): boolean {
  for (let j = 0; j < len; j++) {
    const b = bytes[at + j]!;
    if (text[from + 2 * j] !== HEX_DIGITS[b >> 4] || text[from + 2 * j + 1] !== HEX_DIGITS[b & 15]) return false;
  }
  return true;
}

function hexTextInto(text: Uint8Array, from: number, digits: number, out: Uint8Array, at: number): void {
  for (let j = 0; j < digits; j += 2) out[at + j / 2] = (nibble(text[from + j]!) << 4) | nibble(text[from + j + 1]!);
}

const decoder = new TextDecoder();

export class PayloadTable {
  count = 0;
  totalBytes = 0;
  readonly itemIds: string[] = [];
  private readonly itemIndex = new Map<string, number>();
  /** Member names end to end, when no reader shares its own (tests). */
  private readonly names = new ByteBuffer();
  private readonly nameEnd = uint32s();
  private readonly sizes = float64s();
  private readonly items = uint32s();
  /** Per algorithm: the digests computed (full mode) or stated by its manifest (pieces mode), binary. */
  private readonly flat = new Map<string, Records>();
  /** Pieces kept before member i's end (a member whose piece is its flat sha256 keeps none: see `own`). */
  private readonly pieceEnd = uint32s();
  private readonly pieceBytes = new Records(32);
  /**
   * 1 for a member whose one piece is its whole content: in full mode that
   * piece's SHA-256 is the flat sha256 computed beside it, read from there
   * rather than kept twice (32 MB at a million tiny files).
   */
  private readonly own = uint8s();
  /** Merkle roots of the members whose piece count is not 1, in member order; rootOf lists those members. */
  private readonly roots = new Records(32);
  private readonly rootOf = uint32s();
  /** Member indexes in name order; null once the members are known to be in name order already. */
  private perm: Uint32Array | null | undefined;
  private cursor = 0;

  /**
   * withPieces: piece SHA-256s are computed (piece size > 0). digestCap: keep
   * only this many leading bytes of each flat digest — for pieces mode, where
   * the flat digests are the manifests' own (signed, not recomputed) and are
   * only compared with custody/manifest.json's for consistency: both are the
   * sealer's statements, so a shortened comparison lets through only what a
   * sealer could sign anyway, and saves ~45 bytes a member.
   */
  constructor(
    readonly withPieces: boolean,
    private readonly digestCap = Infinity,
    /** The tar reader's names (payload names are not kept twice): member k's bytes, and the length of the bag folder prefix. */
    private readonly shared?: { bytesOf(k: number): Uint8Array; compareWith(k: number, b: Uint8Array, skip: number): number; readonly count: number; prefix: number },
  ) {}
  /** The shared name index of payload member 0. */
  private base = -1;

  /**
   * A member whose pieces are hashed elsewhere and arrive later (positioned
   * reads on the workers): room for its `pieceCount` pieces is kept now, in
   * member order, and setPieces fills it. Returns its index.
   */
  addPending(path: string, item: string, size: number, pieceCount: number): number {
    const i = this.count;
    const zero = '0'.repeat(64);
    this.add(path, item, size, {}, { pieceSize: 0, hashes: new Array<string>(pieceCount).fill(zero), merkleRoot: zero });
    return i;
  }

  /** The pieces of a member added with addPending. */
  setPieces(i: number, pieces: PieceDigests): void {
    if (!this.withPieces) return;
    if (pieces.hashes.length !== this.pieceCount(i)) throw new RangeError(`member ${i}: ${pieces.hashes.length} pieces where ${this.pieceCount(i)} were expected`);
    const base = this.pieceBase(i);
    pieces.hashes.forEach((h, k) => hexInto(h, this.pieceBytes.block(base + k), this.pieceBytes.offset(base + k)));
    const slot = this.rootSlot(i);
    if (slot >= 0) hexInto(pieces.merkleRoot, this.roots.block(slot), this.roots.offset(slot));
  }

  /** Where member i's root is kept, or -1 (a one-piece member: its root follows from its piece). */
  private rootSlot(i: number): number {
    const list = this.rootOf;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list.get(mid) < i) lo = mid + 1;
      else hi = mid;
    }
    return lo < list.length && list.get(lo) === i ? lo : -1;
  }

  /** Member i's Merkle root, binary (a view, or a fresh array for a one-piece member). */
  private root(i: number): Uint8Array {
    if (this.pieceCount(i) === 1) {
      const leaf = new Uint8Array(33);
      leaf.set(this.piece(i, 0), 1);
      return sha256(leaf);
    }
    return this.roots.view(this.rootSlot(i));
  }

  add(path: string, item: string, size: number, digests: Record<string, string>, pieces: PieceDigests | undefined): void {
    this.perm = undefined;
    if (this.shared) {
      // The member just read is the last name the reader added; payload members follow each other.
      const k = this.shared.count - 1;
      if (this.base < 0) this.base = k;
      if (k !== this.base + this.count) throw new RangeError('payload members are not consecutive names of the reader');
    } else {
      const nb = utf8Scratch(path);
      this.names.append(nb);
      if (this.names.length > 0xffffffff) throw new RangeError('more than 4 GiB of payload member names');
      this.nameEnd.push(this.names.length);
    }
    this.sizes.push(size);
    this.totalBytes += size;
    let it = this.itemIndex.get(item);
    if (it === undefined) {
      it = this.itemIds.length;
      this.itemIds.push(item);
      this.itemIndex.set(item, it);
    }
    this.items.push(it);
    for (const [algo, hex] of Object.entries(digests)) this.setDigest(algo, this.count, hex);
    if (this.withPieces) {
      const hashes = pieces?.hashes ?? [];
      const own = hashes.length === 1 && this.digestCap === Infinity && digests.sha256 === hashes[0];
      if (!own) {
        for (const h of hashes) {
          const p = this.pieceBytes.length;
          this.pieceBytes.reach(p);
          hexInto(h, this.pieceBytes.block(p), this.pieceBytes.offset(p));
        }
      }
      this.own.push(own ? 1 : 0);
      this.pieceEnd.push(this.pieceBytes.length);
      if (hashes.length !== 1) {
        const r = this.roots.length;
        this.rootOf.push(this.count);
        this.roots.reach(r);
        hexInto(pieces?.merkleRoot ?? '0'.repeat(64), this.roots.block(r), this.roots.offset(r));
      }
    }
    this.count++;
  }

  /** Member i's name (UTF-8; valid until the next call). */
  nameBytes(i: number): Uint8Array {
    if (this.shared) return this.shared.bytesOf(this.base + i).subarray(this.shared.prefix);
    const start = i === 0 ? 0 : this.nameEnd.get(i - 1);
    return this.names.buf.subarray(start, this.nameEnd.get(i));
  }

  /** Member i's name against b in byte order (as compareBytes), without copying it out. */
  compareName(i: number, b: Uint8Array): number {
    return this.shared ? this.shared.compareWith(this.base + i, b, this.shared.prefix) : compareBytes(this.nameBytes(i), b);
  }

  name(i: number): string {
    return decoder.decode(this.nameBytes(i));
  }

  size(i: number): number {
    return this.sizes.get(i);
  }

  item(i: number): string {
    return this.itemIds[this.items.get(i)]!;
  }

  /**
   * The slot of `algo`'s digests with room for member i's (made at the first
   * digest, `digits` hex digits long, capped at digestCap bytes).
   */
  private slotToWrite(algo: string, i: number, digits: number): Records {
    let slot = this.flat.get(algo);
    if (!slot) {
      slot = new Records(Math.min(digits / 2, this.digestCap));
      this.flat.set(algo, slot);
    }
    slot.reach(i);
    return slot;
  }

  /** The slot of `algo`'s digests when it holds member i's, else undefined. */
  private slotToRead(algo: string, i: number): Records | undefined {
    const slot = this.flat.get(algo);
    return slot && i < slot.length ? slot : undefined;
  }

  /** Stores a digest (hex) for a member: computed in full mode, as a manifest states it in pieces mode. */
  setDigest(algo: string, i: number, hex: string): void {
    const slot = this.slotToWrite(algo, i, hex.length);
    hexInto(hex.slice(0, 2 * slot.len), slot.block(i), slot.offset(i));
  }

  /** setDigest, for a digest given as `digits` hex digits (ASCII) at text[from]. */
  setDigestText(algo: string, i: number, text: Uint8Array, from: number, digits: number): void {
    const slot = this.slotToWrite(algo, i, digits);
    hexTextInto(text, from, Math.min(digits, 2 * slot.len), slot.block(i), slot.offset(i));
  }

  hasDigests(algo: string): boolean {
    return this.flat.has(algo);
  }

  digestHex(algo: string, i: number): string | undefined {
    const slot = this.slotToRead(algo, i);
    return slot && bytesToHex(slot.view(i));
  }

  /** The stored digest of a member equals this hex (false when none is stored). */
  digestEquals(algo: string, i: number, hex: string): boolean {
    const slot = this.slotToRead(algo, i);
    return slot !== undefined && hexEquals(slot.block(i), slot.offset(i), slot.len, hex.slice(0, 2 * slot.len));
  }

  /** digestEquals, for a digest given as `digits` hex digits (ASCII) at text[from]. */
  digestEqualsText(algo: string, i: number, text: Uint8Array, from: number, digits: number): boolean {
    const slot = this.slotToRead(algo, i);
    return slot !== undefined && digits >= 2 * slot.len && hexTextEquals(slot.block(i), slot.offset(i), slot.len, text, from);
  }

  /** The Merkle root of a member equals this hex. */
  rootEquals(i: number, hex: string): boolean {
    return this.withPieces && hexEquals(this.root(i), 0, 32, hex);
  }

  /** Digests (hex) of every algorithm stored for a member. */
  digests(i: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const algo of this.flat.keys()) {
      const d = this.digestHex(algo, i);
      if (d !== undefined) out[algo] = d;
    }
    return out;
  }

  pieceCount(i: number): number {
    if (!this.withPieces) return 0;
    if (this.own.get(i) === 1) return 1;
    return this.pieceEnd.get(i) - this.pieceBase(i);
  }

  /** Where member i's kept pieces start in pieceBytes. */
  private pieceBase(i: number): number {
    return i === 0 ? 0 : this.pieceEnd.get(i - 1);
  }

  /** Piece k of member i, binary (a view). */
  private piece(i: number, k: number): Uint8Array {
    if (this.own.get(i) === 1) return this.flat.get('sha256')!.view(i);
    return this.pieceBytes.view(this.pieceBase(i) + k);
  }

  pieceHex(i: number, k: number): string {
    return bytesToHex(this.piece(i, k));
  }

  /** True when piece k of member i is the SHA-256 given as 64 hex digits (ASCII) at text[from]. */
  pieceEqualsText(i: number, k: number, text: Uint8Array, from: number): boolean {
    return hexTextEquals(this.piece(i, k), 0, 32, text, from);
  }

  rootHex(i: number): string | undefined {
    if (!this.withPieces) return undefined;
    return bytesToHex(this.root(i));
  }

  pieces(i: number): PieceDigests | undefined {
    if (!this.withPieces) return undefined;
    const hashes: string[] = [];
    for (let k = 0; k < this.pieceCount(i); k++) hashes.push(this.pieceHex(i, k));
    return { pieceSize: 0, hashes, merkleRoot: this.rootHex(i)! };
  }

  /**
   * Member indexes in the byte order of their names (built once, after the
   * payload), or null when the members are in that order already (the
   * identity, not built: a million members saved 4 MB).
   */
  sorted(): Uint32Array | null {
    if (this.perm !== undefined) return this.perm;
    const n = this.count;
    let inOrder = true;
    for (let i = 1; i < n && inOrder; i++) if (this.compareName(i, this.nameBytes(i - 1)) < 0) inOrder = false;
    let perm: Uint32Array | null = null;
    if (!inOrder) {
      perm = new Uint32Array(n);
      for (let i = 0; i < n; i++) perm[i] = i;
      perm.sort((a, b) => -this.compareName(b, this.nameBytes(a)));
    }
    this.perm = perm;
    this.cursor = 0;
    return perm;
  }

  /** The member at place k of the name order. */
  sortedAt(k: number): number {
    const perm = this.sorted();
    return perm === null ? k : perm[k]!;
  }

  /**
   * The member with this name (UTF-8 bytes), or -1. Lookups in name order
   * (the manifests are sorted) hit the cursor; any other order costs a binary search.
   */
  find(name: Uint8Array): number {
    const perm = this.sorted();
    const at = (k: number): number => (perm === null ? k : perm[k]!);
    const c = this.cursor;
    if (c < this.count && this.compareName(at(c), name) === 0) {
      this.cursor = c + 1;
      return at(c);
    }
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const cmp = this.compareName(at(mid), name);
      if (cmp === 0) {
        this.cursor = mid + 1;
        return at(mid);
      }
      if (cmp < 0) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  }
}
