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

/**
 * Splits a stream into LF-terminated lines as strictLines does (no CR, no
 * empty line, a final LF, valid UTF-8), each at most TAG_LIMITS.tagLineBytes bytes with its LF.
 */
export class LineSplitter {
  private carry: Uint8Array[] = [];
  private carryLength = 0;
  private bytes = 0;
  lineNo = 0;

  constructor(
    private readonly member: string,
    private readonly allowEmpty: boolean,
    private readonly onLine: (line: string, lineNo: number) => void,
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
      let text: string;
      try {
        text = strictUtf8.decode(line);
      } catch {
        throw malformed(this.member, 'not valid UTF-8');
      }
      this.onLine(text, this.lineNo);
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

  protected abstract line(text: string, lineNo: number): void;
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
  private prev: Uint8Array | undefined;

  constructor(
    private readonly table: PayloadTable,
    private readonly algo: string,
    private readonly member: string,
    private readonly full: boolean,
  ) {
    super(member, table.count === 0);
    this.listed = new Uint8Array(table.count);
    const len = digestHexLength(algo);
    if (len === undefined) this.parseError = malformed(member, `unknown algorithm ${algo}`);
    this.lineRe = new RegExp(`^([0-9a-f]{${len ?? 0}})  (.+)$`);
  }

  get ok(): boolean {
    return !this.parseError && !this.firstBad && this.firstExtra === undefined;
  }

  private bad(index: number, kind: 'unlisted' | 'mismatch'): void {
    if (!this.firstBad || index < this.firstBad.index) this.firstBad = { index, kind };
  }

  protected line(text: string, lineNo: number): void {
    const m = this.lineRe.exec(text);
    if (!m) throw malformed(this.member, `line ${lineNo} is not "<${digestHexLength(this.algo)} lowercase hex digits>  <path>"`);
    const raw = m[2]!;
    const path = raw.includes('%') ? decodeManifestPath(raw, this.member) : raw;
    const name = utf8Scratch(path);
    if (this.prev !== undefined) {
      const c = compareBytes(this.prev, name);
      if (c === 0) throw malformed(this.member, `${path} is listed twice`);
      if (c > 0) throw malformed(this.member, `lines are not sorted by path (at ${path})`);
    }
    this.prev = this.keep(name);
    const i = this.table.find(name);
    if (i < 0) {
      this.firstExtra ??= path;
      return;
    }
    this.listed[i] = 1;
    if (this.full) {
      if (!this.table.digestEquals(this.algo, i, m[1]!)) this.bad(i, 'mismatch');
    } else {
      this.table.setDigest(this.algo, i, m[1]!);
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
  ) {
    super(PIECES_TXT, true);
    this.seen = new Uint32Array(table.count);
    this.differs = new Int32Array(table.count).fill(-1);
    this.skipEmpty();
  }

  private skipEmpty(): void {
    while (this.c < this.table.count && this.table.pieceCount(this.table.sortedAt(this.c)) === 0) this.c++;
  }

  protected line(text: string, lineNo: number): void {
    const m = /^([0-9a-f]{64})  (0|[1-9][0-9]{0,15})-(0|[1-9][0-9]{0,15})  (.+)$/.exec(text);
    if (!m) throw malformed(PIECES_TXT, `line ${lineNo} is not "<sha256>  <first>-<last>  <path>"`);
    const raw = m[4]!;
    const path = raw.includes('%') ? decodeManifestPath(raw, PIECES_TXT) : raw;
    const range: [number, number] = [Number(m[2]), Number(m[3])];
    const name = utf8Scratch(path);
    const digest = m[1]!;
    const i = this.table.find(name);
    if (i >= 0) {
      const k = this.seen[i]!++;
      if (this.differs[i]! < 0 && (k >= this.table.pieceCount(i) || !this.table.pieceEquals(i, k, digest))) this.differs[i] = k;
    }
    if (this.firstDiff) return;
    // The generated list, line by line: the expected member's next piece, its range, its digest.
    const want = this.c < this.table.count ? this.table.sortedAt(this.c) : undefined;
    let same = false;
    if (want !== undefined && this.pieceSize > 0 && compareBytes(this.table.nameBytes(want), name) === 0) {
      const r = pieceRange(this.pieceSize, this.table.size(want), this.k);
      same = r[0] === range[0] && r[1] === range[1] && this.table.pieceEquals(want, this.k, digest);
    }
    if (!same) {
      this.firstDiff = { lineNo, line: { path, range } };
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
