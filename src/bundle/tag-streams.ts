/**
 * manifest-<alg>.txt and custody/pieces-sha256.txt checked line by line as
 * they stream past, against what was kept of the payload (payload-table.ts).
 * A million files make these files hundreds of MB: they are never held whole.
 *
 * Threat: a hostile bundle exhausting memory with an endless line, or
 * slipping a difference past a check that only sampled the file. Each line is
 * bounded (TAG_LIMITS.tagLineBytes, its LF included) and parsed as strictly as before
 * (manifests.ts, pieces.ts); nothing per line is kept but a bit or a counter
 * per payload member. The outcome is kept, not thrown: these tag files are
 * read before the signature over them is checked, and verify reports a
 * finding only once the tag manifest and the seal hold.
 */
import { CustodyError } from '../core/errors.js';
import { compareBytes } from '../custody/encoding.js';
import { PIECES_TXT, TAG_LIMITS } from './layout.js';
import { decodeManifestPath, digestHexLength } from './manifests.js';
import { pieceRange } from './pieces.js';
import { utf8Scratch, type PayloadTable } from './payload-table.js';

function malformed(member: string, msg: string): CustodyError {
  return new CustodyError('MALFORMED_BUNDLE', `${member}: ${msg}`, { member });
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A line's text, refused unless it is UTF-8. */
export function lineText(member: string, line: Uint8Array): string {
  try {
    return strictUtf8.decode(line);
  } catch {
    throw malformed(member, 'not valid UTF-8');
  }
}

const SPACE = 0x20;

/** bytes[from, to) are lowercase hex digits. */
function lowerHex(b: Uint8Array, from: number, to: number): boolean {
  for (let j = from; j < to; j++) {
    const c = b[j]!;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/**
 * bytes[from, to) are a path as it is named, with nothing to decode: ASCII
 * without '%'. Its bytes are then its UTF-8 name, and the line holds nothing
 * the line patterns' "." refuses (a CR is refused before; U+2028 is not ASCII).
 */
function plainPath(b: Uint8Array, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let j = from; j < to; j++) {
    const c = b[j]!;
    if (c >= 0x80 || c === 0x25) return false;
  }
  return true;
}

const ascii = new TextDecoder();

/** Lowercase hex digits (as a line pattern matched them) as ASCII bytes, in a buffer reused from line to line. */
let hexScratch = new Uint8Array(128);
function hexBytes(hex: string): Uint8Array {
  if (hexScratch.length < hex.length) hexScratch = new Uint8Array(hex.length);
  for (let j = 0; j < hex.length; j++) hexScratch[j] = hex.charCodeAt(j);
  return hexScratch;
}

/**
 * The decimal number at b[from] (0, or 1–16 digits without a leading 0, as
 * the line pattern allows) up to the byte `stop`, or undefined (the line is
 * then read as text, where its pattern decides). The same double as Number()
 * of the digits: value × 10 is even and below 2^54, so exact, and adding the
 * digit rounds once.
 */
function decimalAt(b: Uint8Array, from: number, stop: number): { value: number; end: number } | undefined {
  let value = 0;
  let j = from;
  for (; j < b.length && j - from < 16; j++) {
    const c = b[j]!;
    if (c === stop) break;
    if (c < 0x30 || c > 0x39 || (j > from && value === 0)) return undefined;
    value = value * 10 + (c - 0x30);
  }
  return j === from || b[j] !== stop ? undefined : { value, end: j };
}

/**
 * Splits a stream into LF-terminated lines as strictLines does (no CR, no
 * empty line, a final LF), each at most TAG_LIMITS.tagLineBytes bytes with its
 * LF. Each line is handed over as bytes (a view, valid during the call): the
 * checks below read the usual line (hex, spaces, an ASCII path) as it is, and
 * decode the rest with lineText, which refuses what is not UTF-8.
 */
export class LineSplitter {
  private carry: Uint8Array[] = [];
  private carryLength = 0;
  private bytes = 0;
  lineNo = 0;

  constructor(
    private readonly member: string,
    private readonly allowEmpty: boolean,
    private readonly onLine: (line: Uint8Array, lineNo: number) => void,
  ) {}

  push(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) {
        if (start < chunk.length) {
          this.carry.push(chunk.slice(start));
          this.carryLength += chunk.length - start;
          if (this.carryLength + 1 > TAG_LIMITS.tagLineBytes) this.tooLong(this.lineNo + 1);
        }
        return;
      }
      let line = chunk.subarray(start, nl);
      if (this.carryLength > 0) {
        const whole = new Uint8Array(this.carryLength + line.length);
        let at = 0;
        for (const c of this.carry) {
          whole.set(c, at);
          at += c.length;
        }
        whole.set(line, at);
        line = whole;
        this.carry = [];
        this.carryLength = 0;
      }
      this.lineNo++;
      if (line.length + 1 > TAG_LIMITS.tagLineBytes) this.tooLong(this.lineNo);
      if (line.length === 0) throw malformed(this.member, `line ${this.lineNo} is empty`);
      if (line.includes(0x0d)) throw malformed(this.member, 'carriage return in a line (lines end with LF only)');
      this.onLine(line, this.lineNo);
      start = nl + 1;
    }
  }

  private tooLong(lineNo: number): never {
    throw malformed(this.member, `line ${lineNo} is longer than ${TAG_LIMITS.tagLineBytes} bytes (the most a line may have, its LF included)`);
  }

  end(): void {
    if (this.carryLength > 0) throw malformed(this.member, 'the last line does not end with a newline');
    if (this.bytes === 0 && !this.allowEmpty) throw malformed(this.member, 'empty');
  }
}

/** Feeds a line splitter and keeps the first error instead of throwing it (the tag file still streams to its end). */
abstract class LineCheck {
  /** The file does not parse (reported before any comparison). */
  parseError: CustodyError | undefined;
  protected readonly lines: LineSplitter;

  constructor(member: string, allowEmpty: boolean) {
    this.lines = new LineSplitter(member, allowEmpty, (line, no) => this.line(line, no));
  }

  protected abstract line(bytes: Uint8Array, lineNo: number): void;
  protected finish(): void {}

  push(chunk: Uint8Array): void {
    if (this.parseError) return;
    try {
      this.lines.push(chunk);
    } catch (e) {
      this.parseError = asCustody(e);
    }
  }

  end(): void {
    if (this.parseError) return;
    try {
      this.lines.end();
      this.finish();
    } catch (e) {
      this.parseError = asCustody(e);
    }
  }

  get lineCount(): number {
    return this.lines.lineNo;
  }
}

function asCustody(e: unknown): CustodyError {
  return e instanceof CustodyError ? e : new CustodyError('INTERNAL', `internal error while reading a tag file: ${String(e)}`, { cause: e });
}

/**
 * One manifest-<alg>.txt: sorted, each payload member once, nothing else.
 * Full mode compares each digest with the one computed; pieces mode stores
 * the stated digest in the table (custody/manifest.json is compared with it).
 */
export class ManifestLinesCheck extends LineCheck {
  /** The first payload member (in payload order) that is not listed, or whose digest differs (full mode). */
  firstBad: { index: number; kind: 'unlisted' | 'mismatch' } | undefined;
  /** The first listed path that is not a payload member. */
  firstExtra: string | undefined;
  private readonly listed: Uint8Array;
  private readonly lineRe: RegExp;
  /** Hex digits of the algorithm's digest (0: an unknown algorithm, refused). */
  private readonly digits: number;
  private prev: Uint8Array | undefined;

  constructor(
    private readonly table: PayloadTable,
    private readonly algo: string,
    private readonly member: string,
    private readonly full: boolean,
    /** false: every line through its text pattern, as the tests compare (the usual line is read as bytes otherwise). */
    private readonly readBytes = true,
  ) {
    super(member, table.count === 0);
    this.listed = new Uint8Array(table.count);
    const len = digestHexLength(algo);
    if (len === undefined) this.parseError = malformed(member, `unknown algorithm ${algo}`);
    this.digits = len ?? 0;
    this.lineRe = new RegExp(`^([0-9a-f]{${len ?? 0}})  (.+)$`);
  }

  get ok(): boolean {
    return !this.parseError && !this.firstBad && this.firstExtra === undefined;
  }

  private bad(index: number, kind: 'unlisted' | 'mismatch'): void {
    if (!this.firstBad || index < this.firstBad.index) this.firstBad = { index, kind };
  }

  protected line(b: Uint8Array, lineNo: number): void {
    const h = this.digits;
    // The usual line, read as bytes: the digest's hex digits, two spaces, a path with nothing to decode.
    if (this.readBytes && h > 0 && b[h] === SPACE && b[h + 1] === SPACE && lowerHex(b, 0, h) && plainPath(b, h + 2, b.length)) {
      this.entry(b.subarray(h + 2), b, undefined);
      return;
    }
    const text = lineText(this.member, b);
    const m = this.lineRe.exec(text);
    if (!m) throw malformed(this.member, `line ${lineNo} is not "<${digestHexLength(this.algo)} lowercase hex digits>  <path>"`);
    const raw = m[2]!;
    const path = raw.includes('%') ? decodeManifestPath(raw, this.member) : raw;
    this.entry(utf8Scratch(path), hexBytes(m[1]!), path);
  }

  /** One listed member: its name (UTF-8), its digest (hex digits at hex[0]), and its path when decoded already. */
  private entry(name: Uint8Array, hex: Uint8Array, decoded: string | undefined): void {
    const path = (): string => decoded ?? ascii.decode(name);
    if (this.prev !== undefined) {
      const c = compareBytes(this.prev, name);
      if (c === 0) throw malformed(this.member, `${path()} is listed twice`);
      if (c > 0) throw malformed(this.member, `lines are not sorted by path (at ${path()})`);
    }
    this.prev = this.keep(name);
    const i = this.table.find(name);
    if (i < 0) {
      this.firstExtra ??= path();
      return;
    }
    this.listed[i] = 1;
    if (this.full) {
      if (!this.table.digestEqualsText(this.algo, i, hex, 0, this.digits)) this.bad(i, 'mismatch');
    } else {
      this.table.setDigestText(this.algo, i, hex, 0, this.digits);
    }
  }

  private prevBuf = new Uint8Array(256);
  /** The previous line's name, copied out of the scratch buffer. */
  private keep(name: Uint8Array): Uint8Array {
    if (this.prevBuf.length < name.length) this.prevBuf = new Uint8Array(name.length * 2);
    this.prevBuf.set(name);
    return this.prevBuf.subarray(0, name.length);
  }

  protected override finish(): void {
    const i = this.listed.indexOf(0);
    if (i >= 0) this.bad(i, 'unlisted');
  }
}

/**
 * custody/pieces-sha256.txt: compared line by line with the list generated
 * from the sizes read and the piece hashes computed (pieces.list), and per
 * payload member with its computed pieces (payload.pieces, and the first
 * differing piece that names a byte range in every hash mismatch).
 */
export class PiecesCheck extends LineCheck {
  /** The first line that differs from the generated list (1-based), with what it says. */
  firstDiff: { lineNo: number; line?: { path: string; range: [number, number] } } | undefined;
  private readonly seen: Uint32Array;
  private readonly differs: Int32Array;
  /** The next expected line: member table.sortedAt(c) (members without pieces skipped), its piece k. */
  private c = 0;
  private k = 0;

  constructor(
    private readonly table: PayloadTable,
    private readonly pieceSize: number,
    /** As ManifestLinesCheck's. */
    private readonly readBytes = true,
  ) {
    super(PIECES_TXT, true);
    this.seen = new Uint32Array(table.count);
    this.differs = new Int32Array(table.count).fill(-1);
    this.skipEmpty();
  }

  private skipEmpty(): void {
    while (this.c < this.table.count && this.table.pieceCount(this.table.sortedAt(this.c)) === 0) this.c++;
  }

  protected line(b: Uint8Array, lineNo: number): void {
    // The usual line, read as bytes: 64 hex digits, two spaces, <first>-<last>, two spaces, a path with
    // nothing to decode.
    if (this.readBytes && b[64] === SPACE && b[65] === SPACE && lowerHex(b, 0, 64)) {
      const first = decimalAt(b, 66, 0x2d);
      if (first !== undefined) {
        const last = decimalAt(b, first.end + 1, SPACE);
        if (last !== undefined && b[last.end + 1] === SPACE && plainPath(b, last.end + 2, b.length)) {
          this.entry(b.subarray(last.end + 2), b, [first.value, last.value], undefined, lineNo);
          return;
        }
      }
    }
    const text = lineText(PIECES_TXT, b);
    const m = /^([0-9a-f]{64})  (0|[1-9][0-9]{0,15})-(0|[1-9][0-9]{0,15})  (.+)$/.exec(text);
    if (!m) throw malformed(PIECES_TXT, `line ${lineNo} is not "<sha256>  <first>-<last>  <path>"`);
    const raw = m[4]!;
    const path = raw.includes('%') ? decodeManifestPath(raw, PIECES_TXT) : raw;
    this.entry(utf8Scratch(path), hexBytes(m[1]!), [Number(m[2]), Number(m[3])], path, lineNo);
  }

  /** One line: the member's name (UTF-8), the piece's digest (64 hex digits at hex[0]), its range, its path when decoded already. */
  private entry(name: Uint8Array, hex: Uint8Array, range: [number, number], decoded: string | undefined, lineNo: number): void {
    const i = this.table.find(name);
    if (i >= 0) {
      const k = this.seen[i]!++;
      if (this.differs[i]! < 0 && (k >= this.table.pieceCount(i) || !this.table.pieceEqualsText(i, k, hex, 0))) this.differs[i] = k;
    }
    if (this.firstDiff) return;
    // The generated list, line by line: the expected member's next piece, its range, its digest.
    const want = this.c < this.table.count ? this.table.sortedAt(this.c) : undefined;
    let same = false;
    if (want !== undefined && this.pieceSize > 0 && this.table.compareName(want, name) === 0) {
      const r = pieceRange(this.pieceSize, this.table.size(want), this.k);
      same = r[0] === range[0] && r[1] === range[1] && this.table.pieceEqualsText(want, this.k, hex, 0);
    }
    if (!same) {
      this.firstDiff = { lineNo, line: { path: decoded ?? ascii.decode(name), range } };
      return;
    }
    if (++this.k === this.table.pieceCount(want!)) {
      this.k = 0;
      this.c++;
      this.skipEmpty();
    }
  }

  protected override finish(): void {
    if (!this.firstDiff && this.c < this.table.count) this.firstDiff = { lineNo: this.lineCount + 1 };
  }

  /** Payload member i's recorded pieces are exactly its computed ones. */
  matches(i: number): boolean {
    return this.seen[i] === this.table.pieceCount(i) && this.differs[i]! < 0;
  }

  listed(i: number): boolean {
    return this.seen[i]! > 0;
  }

  /** The first piece of member i that the list does not state as computed (undefined: none, or the list did not parse). */
  firstBadPiece(i: number): [number, number] | undefined {
    if (this.parseError) return undefined;
    const computed = this.table.pieceCount(i);
    let k = this.differs[i]!;
    if (k < 0 || k >= computed) k = this.seen[i]! < computed ? this.seen[i]! : -1;
    return k < 0 ? undefined : pieceRange(this.pieceSize, this.table.size(i), k);
  }
}
