/**
 * custody/manifest.json read as it streams past: a small scanner splits the
 * top-level object, hands every element of `files` on its own to the strict
 * JSON parser (duplicate keys refused, as for the whole document) and the
 * field checks of custody-manifest.ts, and compares it with payload member
 * number i as kept in the payload table. Everything but `files` (case, items,
 * sealer …) is parsed whole, bounded as before.
 *
 * Threat: a million files make this file ~500 MB; held whole (and then as a
 * million objects) it exhausted memory, and a hostile bundle could make it
 * arbitrarily large. Now one element is held at a time, each at most
 * TAG_LIMITS.manifestFileEntryBytes bytes, and there may be no more elements than payload
 * members. `files` must come last (custody writes it last) so that every
 * element can be checked with the items and algorithms already known.
 * Findings are kept, not thrown: they are reported only once the tag
 * manifest and the seal hold (verify.ts).
 */
import { ByteBuffer } from '../core/bytes.js';
import { CustodyError } from '../core/errors.js';
import { compareBytes, utf8 } from '../custody/encoding.js';
import { utf8Scratch } from './payload-table.js';
import {
  checkImageSegments,
  parseManifestFile,
  parseManifestHead,
  parseManifestJson,
  type ManifestContext,
  type ManifestFile,
  type ManifestHead,
} from './custody-manifest.js';
import { CUSTODY_MANIFEST_JSON, TAG_LIMITS } from './layout.js';
import type { PayloadTable } from './payload-table.js';

/** Everything of the document but the elements of `files`: bounded as the whole file was before. */
export const MAX_MANIFEST_HEAD = 64 << 20;

function malformed(msg: string): CustodyError {
  return new CustodyError('MALFORMED_BUNDLE', `${CUSTODY_MANIFEST_JSON}: ${msg}`, { member: CUSTODY_MANIFEST_JSON });
}

const FILES_KEY = utf8('"files"');
const isWs = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/**
 * Splits a JSON document whose top level is an object: `onHead` gets the
 * document up to the `files` key with an empty array in its place (parseable
 * on its own), `onElement` each element of `files` (its bytes, leading and
 * trailing white space trimmed). Without a `files` key spelled plainly, the
 * whole document goes to `onWhole` (still bounded by MAX_MANIFEST_HEAD).
 */
export class FilesScanner {
  private readonly head = new ByteBuffer();
  private elem = new ByteBuffer();
  private depth = 0;
  private inString = false;
  private escape = false;
  private expectKey = false;
  private key: ByteBuffer | undefined;
  private lastKey = false;
  private state: 'head' | 'open' | 'elements' | 'after' | 'done' = 'head';
  private afterComma = false;
  private count = 0;

  constructor(
    private readonly onHead: (bytes: Uint8Array) => void,
    private readonly onElement: (bytes: Uint8Array, index: number) => void,
    private readonly onWhole: (bytes: Uint8Array) => void,
  ) {}

  push(chunk: Uint8Array): void {
    for (let p = 0; p < chunk.length; p++) {
      const b = chunk[p]!;
      switch (this.state) {
        case 'head':
          this.headByte(b);
          break;
        case 'open':
          if (isWs(b)) break;
          if (b !== 0x5b) throw malformed('document.files is not an array');
          this.depth = 2;
          this.state = 'elements';
          this.afterComma = false;
          break;
        case 'elements':
          p = this.scanElements(chunk, p) - 1;
          break;
        case 'after':
          if (isWs(b)) break;
          if (b !== 0x7d) throw malformed('a field follows "files" (custody writes "files" last)');
          this.state = 'done';
          break;
        case 'done':
          if (!isWs(b)) throw malformed('not valid JSON (document is not valid JSON: unexpected data after the value)');
          break;
      }
    }
  }

  private headByte(b: number): void {
    if (this.head.length >= MAX_MANIFEST_HEAD) throw malformed(`more than ${MAX_MANIFEST_HEAD} bytes besides the elements of "files"`);
    this.head.push(b);
    if (this.inString) {
      if (this.key) this.key.length < 16 && this.key.push(b);
      if (this.escape) this.escape = false;
      else if (b === 0x5c) this.escape = true;
      else if (b === 0x22) {
        this.inString = false;
        if (this.key) {
          this.lastKey = compareBytes(this.key.view(), FILES_KEY) === 0;
          this.key = undefined;
        }
      }
      return;
    }
    if (b === 0x22) {
      this.inString = true;
      if (this.depth === 1 && this.expectKey) {
        this.key = new ByteBuffer();
        this.key.push(b);
        this.expectKey = false;
      }
    } else if (b === 0x7b || b === 0x5b) {
      this.depth++;
      if (this.depth === 1 && b === 0x7b) this.expectKey = true;
    } else if (b === 0x7d || b === 0x5d) {
      this.depth--;
    } else if (this.depth === 1 && b === 0x2c) {
      this.expectKey = true;
    } else if (this.depth === 1 && b === 0x3a && this.lastKey) {
      this.lastKey = false;
      const head = new ByteBuffer();
      head.append(this.head.view());
      head.append(utf8('[]}'));
      this.onHead(head.view());
      this.state = 'open';
    } else if (this.depth === 1 && b === 0x3a) {
      this.lastKey = false;
    }
  }

  /**
   * Element bytes from chunk[p]: runs are copied in bulk; only quotes,
   * escapes, brackets and commas are looked at. Inside a string (most of the
   * bytes: paths, digests, times) the scan jumps to the next quote or
   * backslash with indexOf instead of looking at every byte. Each is looked
   * up once and kept until the scan passes it, so a chunk is searched for
   * each at most once over (a string of a million backslashes costs one pass,
   * not one search to its closing quote per backslash). Returns where the
   * element state ended (the end of the chunk, or just after the closing ']').
   */
  private scanElements(chunk: Uint8Array, p: number): number {
    let run = p;
    let i = p;
    let inString = this.inString;
    let escape = this.escape;
    let depth = this.depth;
    let backslash = chunk.indexOf(0x5c, p);
    let quote = chunk.indexOf(0x22, p);
    for (; i < chunk.length; i++) {
      if (inString) {
        if (escape) {
          escape = false;
          continue;
        }
        if (backslash !== -1 && backslash < i) backslash = chunk.indexOf(0x5c, i);
        if (quote !== -1 && quote < i) quote = chunk.indexOf(0x22, i);
        if (backslash !== -1 && (quote === -1 || backslash < quote)) {
          i = backslash; // the byte after it is escaped
          escape = true;
        } else if (quote === -1) {
          i = chunk.length - 1; // the string goes on in the next chunk
        } else {
          i = quote;
          inString = false;
        }
        continue;
      }
      const b = chunk[i]!;
      if (b === 0x22) inString = true;
      else if (b === 0x7b || b === 0x5b) depth++;
      else if ((b === 0x7d || b === 0x5d) && depth > 2) depth--;
      else if (depth === 2 && (b === 0x2c || b === 0x5d)) {
        this.take(chunk, run, i);
        run = i + 1;
        this.separator(b);
        if (b === 0x5d) {
          this.inString = inString;
          this.escape = escape;
          this.depth = 1;
          this.state = 'after';
          return i + 1;
        }
      }
    }
    this.take(chunk, run, i);
    this.inString = inString;
    this.escape = escape;
    this.depth = depth;
    return i;
  }

  private take(chunk: Uint8Array, from: number, to: number): void {
    if (to <= from) return;
    if (this.elem.length + (to - from) > TAG_LIMITS.manifestFileEntryBytes + 4096) {
      // Leading white space does not count: trim it before judging.
      const e = this.elem.view();
      let lead = 0;
      while (lead < e.length && isWs(e[lead]!)) lead++;
      if (e.length - lead + (to - from) > TAG_LIMITS.manifestFileEntryBytes + 4096) this.tooBig();
    }
    this.elem.append(chunk.subarray(from, to));
  }

  private separator(b: number): void {
    const e = this.elem.view();
    let start = 0;
    let end = e.length;
    while (start < end && isWs(e[start]!)) start++;
    while (end > start && isWs(e[end - 1]!)) end--;
    if (end > start) {
      if (end - start > TAG_LIMITS.manifestFileEntryBytes) this.tooBig();
      this.onElement(e.subarray(start, end), this.count++);
    } else if (b === 0x2c || this.afterComma) {
      throw malformed(`not valid JSON (document.files has an empty element at element ${this.count})`);
    }
    this.elem.length = 0;
    this.afterComma = b === 0x2c;
  }

  private tooBig(): never {
    throw malformed(`files[${this.count}] is more than ${TAG_LIMITS.manifestFileEntryBytes} bytes (the most one entry may have)`);
  }

  end(): void {
    if (this.state === 'done') return;
    if (this.state === 'head') {
      this.onWhole(this.head.view());
      return;
    }
    throw malformed('not valid JSON (document is not valid JSON: unexpected end)');
  }

  get elements(): number {
    return this.count;
  }
}

/** What custody.manifest found, reported once the tag files are known to be the signed ones. */
export type Finding = { error: CustodyError } | { payload: number; what: string };

/**
 * custody/manifest.json against the payload table, element by element: the
 * path, size, hashes (full mode: the computed ones; pieces mode: those the
 * flat manifests state, if they checked out), piece count and Merkle root.
 */
export class CustodyManifestCheck {
  /** The document does not parse or has the wrong shape (reported first). */
  parseError: CustodyError | undefined;
  head: ManifestHead | undefined;
  /**
   * Elements of `files`, kept only when asked (report, receive); verify keeps
   * none; extract ('times') keeps only those with original name bytes, and
   * every file time the caller does not keep itself (onTime) in `mtimes`.
   */
  readonly files: ManifestFile[] = [];
  /**
   * keepFiles 'times': each payload member's mtime (ms since the epoch; NaN if it does not parse or onTime kept
   * it), by element index; undefined when onTime kept every one.
   */
  mtimes: Float64Array | undefined;
  /** keepFiles 'times': element index → original name bytes (hex), for the few files sealed under an escaped name. */
  readonly nameBytes = new Map<number, string>();
  /** More elements than payload members, or fewer: the count said. */
  countError: string | undefined;
  /** The first element (in order) that disagrees with its payload member. */
  first: Finding | undefined;
  private ctx: ManifestContext | undefined;
  private readonly scanner: FilesScanner;
  private readonly segments = new Map<string, boolean>();
  private readonly manifestsOk = new Map<string, boolean>();

  /** Asked once per algorithm (the manifests were read before this file). */
  private manifestOk(algo: string): boolean {
    let ok = this.manifestsOk.get(algo);
    if (ok === undefined) this.manifestsOk.set(algo, (ok = this.o.manifestOk(algo)));
    return ok;
  }

  constructor(
    private readonly table: PayloadTable,
    private readonly o: {
      full: boolean;
      pieceSize: number;
      keepFiles: boolean | 'times';
      manifestOk: (algo: string) => boolean;
      /**
       * keepFiles 'times': each payload member's time as its element is read (member index, ms; not called for a
       * time that does not parse). True: the caller keeps it (it is not kept in `mtimes`).
       */
      onTime?: (i: number, ms: number) => boolean;
    },
  ) {
    this.scanner = new FilesScanner(
      (bytes) => this.startHead(parseManifestJson(bytes)),
      (bytes, i) => this.element(parseManifestJson(bytes), i),
      (bytes) => {
        const doc = parseManifestJson(bytes);
        this.startHead(doc);
        const files = (doc as Record<string, unknown>).files;
        if (!Array.isArray(files)) throw malformed('document.files is not an array');
        files.forEach((v, i) => this.element(v, i));
      },
    );
  }

  private startHead(doc: unknown): void {
    const { head, ctx } = parseManifestHead(doc);
    this.head = head;
    this.ctx = ctx;
    for (const it of head.items) for (const seg of it.image?.segments ?? []) this.segments.set(`${it.id}\u0000${seg}`, false);
  }

  private element(v: unknown, i: number): void {
    const f = parseManifestFile(v, i, this.ctx!);
    const key = `${f.item}\u0000${f.path}`;
    if (this.segments.has(key)) this.segments.set(key, true);
    const n = this.table.count;
    if (i >= n) {
      this.countError = `lists more than ${n} files; the bundle holds ${n}`;
      throw new StopScan();
    }
    if (this.o.keepFiles === 'times') {
      // A million objects cost ~500 MB; extract needs only the time and the rare original name bytes. A time
      // the caller keeps (extract's writer thread sets it) is not kept here too: 8 MB a million files.
      const ms = Date.parse(f.mtime);
      if (Number.isNaN(ms) || this.o.onTime?.(i, ms) !== true) (this.mtimes ??= new Float64Array(n).fill(Number.NaN))[i] = ms;
      if (f.nameBytes !== undefined) {
        this.nameBytes.set(i, f.nameBytes);
        this.files.push(f);
      }
    } else if (this.o.keepFiles) this.files.push(f);
    if (!this.first) this.compare(f, i);
  }

  private compare(f: ManifestFile, i: number): void {
    const t = this.table;
    const same = t.compareName(i, utf8Scratch(f.path)) === 0;
    const p = { path: t.name(i), item: t.item(i) };
    const bad = (msg: string, extra: { member?: string; item?: string } = {}): void => {
      this.first = { error: new CustodyError('MALFORMED_BUNDLE', `${CUSTODY_MANIFEST_JSON}: ${msg}`, { member: CUSTODY_MANIFEST_JSON, ...extra }) };
    };
    if (!same) return bad(`file ${i + 1} is ${f.path}, but payload member ${i + 1} is ${p.path} (missing, added or reordered)`, { member: p.path });
    if (f.size !== t.size(i)) {
      this.first = { error: new CustodyError('SIZE_MISMATCH', `${p.path} (item ${p.item}) is ${t.size(i)} bytes; ${CUSTODY_MANIFEST_JSON} says ${f.size}`, { member: p.path, item: p.item }) };
      return;
    }
    for (const a of this.ctx!.algorithms) {
      if (this.o.full) {
        if (!t.digestEquals(a, i, f.hashes[a]!)) {
          this.first = { payload: i, what: `${a} differs from ${CUSTODY_MANIFEST_JSON}` };
          return;
        }
      } else if (!this.manifestOk(a) || !t.digestEquals(a, i, f.hashes[a]!)) {
        // Both are signed; disagreeing means the sealer signed inconsistent manifests (or a manifest did not parse).
        return bad(`${a} of ${p.path} differs from manifest-${a}.txt`, { member: p.path, item: p.item });
      }
    }
    if (this.o.pieceSize === 0) {
      if (f.pieces !== undefined) bad(`${f.path} has pieces but the piece size is 0`, { member: p.path });
    } else if (!f.pieces || f.pieces.count !== t.pieceCount(i) || !t.rootEquals(i, f.pieces.merkleRoot)) {
      this.first = { payload: i, what: `piece count or Merkle root differs from ${CUSTODY_MANIFEST_JSON}` };
    }
  }

  push(chunk: Uint8Array): void {
    if (this.parseError || this.countError) return;
    try {
      this.scanner.push(chunk);
    } catch (e) {
      this.caught(e);
    }
  }

  end(): void {
    if (this.parseError || this.countError) return;
    try {
      this.scanner.end();
      checkImageSegments(this.head!.items, (p, item) => this.segments.get(`${item}\u0000${p}`) === true);
      const n = this.table.count;
      if (this.scanner.elements !== n) this.countError = `lists ${this.scanner.elements} files; the bundle holds ${n}`;
    } catch (e) {
      this.caught(e);
    }
  }

  private caught(e: unknown): void {
    if (e instanceof StopScan) return;
    this.parseError = e instanceof CustodyError ? e : new CustodyError('INTERNAL', `internal error while reading ${CUSTODY_MANIFEST_JSON}: ${String(e)}`, { cause: e });
  }
}

class StopScan extends Error {}
