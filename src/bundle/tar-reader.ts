/**
 * Strict streaming tar reader (DESIGN §3). A bundle is hostile input: this
 * reader refuses, rather than skips or repairs, everything a lenient reader
 * (tar-stream included) lets through — links, devices, sparse files, global
 * pax headers, pax records that contradict the ustar header, names that
 * escape or collide, hidden bytes in padding or after the end marker. The
 * aim is that changing any byte of a bundle makes verify fail.
 *
 * It is a raw 512-byte-block parser because every one of those checks needs
 * the raw bytes (padding, end blocks, raw pax records) that tar-stream's
 * extractor hides. Memory is constant: body chunks are handed out as views
 * of the source's chunks, never collected.
 */
import { CustodyError } from '../core/errors.js';
import {
  BLOCK,
  MAX_PAX_SIZE,
  decodeHeader,
  encodeHeader,
  isZeroBlock,
  paddingFor,
  parsePax,
  resolveHeader,
} from './tar-header.js';
import { NameTracker, checkMemberName } from './tar-names.js';

export interface TarEntry {
  /** As written (never normalised), relative, '/'-separated; a directory's trailing '/' removed. */
  name: string;
  type: 'file' | 'dir';
  size: number;
  mode: number;
  mtime: number;
  /** Offset of the entry's first header block (its pax header, if any). */
  headerOffset: number;
  dataOffset: number;
  /** The member's data, once; skipped (drained and checked) if not read before the next entry. */
  body(): AsyncIterable<Uint8Array>;
  /**
   * Moves past the member's data without reading it, where the source can
   * (ReadTarOptions.skip; otherwise it is drained as usual); its padding is
   * still read and checked. Only for a caller that reads those bytes by other
   * means (verify's positioned piece hashing): skipped bytes are checked by
   * nothing here.
   */
  skip(): void;
}

export interface ReadTarOptions {
  /**
   * Refuse any header that is not byte-for-byte what our writer produces for
   * the same name, type and size — with its default mode (0644 / 0755) and
   * mtime 0, as seal and append always write. For bundles custody wrote: it
   * makes every header byte (mode, mtime, uid, uname, checksum spelling…)
   * significant; taking mode and mtime from the header itself would let a
   * forger change them (and fix the checksum) without verify noticing.
   */
  canonical?: boolean;
  /**
   * The source can move forward n bytes without yielding them (a seekable
   * file): the next chunk starts there. Returns how far it went (less at its
   * end). Used only for members the caller asked to skip (TarEntry.skip).
   */
  skip?: (n: number) => Promise<number>;
  /** Where the names seen are kept (a caller that needs them later passes its own). */
  names?: NameTracker;
}

export interface TarReader extends AsyncGenerator<TarEntry, void, undefined> {
  /** Offset of the end-of-archive marker; set once the generator has finished. */
  readonly endOfData: number | undefined;
  /** Total bytes read, zero padding after the marker included; set at the end. */
  readonly archiveSize: number | undefined;
}

function malformed(message: string, member?: string, range?: [number, number]): CustodyError {
  return new CustodyError('MALFORMED_BUNDLE', message, {
    ...(member === undefined ? {} : { member }),
    ...(range === undefined ? {} : { range }),
  });
}

/**
 * Pull-based view of an async byte stream with an absolute offset. A chunk is
 * used only until the next one is pulled (what must outlive that is copied), so
 * a source may reuse its buffers.
 */
class ByteSource {
  offset = 0;
  private chunk: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private done = false;
  private readonly it: AsyncIterator<Uint8Array>;

  constructor(
    source: AsyncIterable<Uint8Array>,
    private readonly jump?: (n: number) => Promise<number>,
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Moves forward up to n bytes: through the current chunk, then by the source's own jump (or by reading). Returns how far. */
  async skip(n: number): Promise<number> {
    let done = Math.min(n, this.chunk.length - this.pos);
    this.pos += done;
    this.offset += done;
    if (done < n && this.jump && !this.done) {
      const k = await this.jump(n - done);
      this.offset += k;
      done += k;
    }
    while (done < n) {
      const c = await this.some(n - done);
      if (c === null) break;
      done += c.length;
    }
    return done;
  }

  private async fill(): Promise<boolean> {
    while (this.pos >= this.chunk.length) {
      if (this.done) return false;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      this.chunk = r.value;
      this.pos = 0;
    }
    return true;
  }

  /** Up to `max` bytes without copying; null at the end of the stream. */
  async some(max: number): Promise<Uint8Array | null> {
    if (!(await this.fill())) return null;
    const n = Math.min(max, this.chunk.length - this.pos);
    const out = this.chunk.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.offset += n;
    return out;
  }

  /** Exactly n bytes (copied if they span chunks); fewer only at the end of the stream. */
  async exact(n: number): Promise<Uint8Array> {
    const first = await this.some(n);
    if (first === null) return new Uint8Array(0);
    if (first.length === n) return first;
    const out = new Uint8Array(n);
    out.set(first, 0);
    let got = first.length;
    while (got < n) {
      const more = await this.some(n - got);
      if (more === null) return out.subarray(0, got);
      out.set(more, got);
      got += more.length;
    }
    return out;
  }

  async close(): Promise<void> {
    if (!this.done) await this.it.return?.();
  }
}

interface Current {
  name: string;
  size: number;
  remaining: number;
  finished: boolean;
  bodyTaken: boolean;
  skip?: boolean;
}

async function readPadding(src: ByteSource, cur: Current): Promise<void> {
  const pad = paddingFor(cur.size);
  const at = src.offset;
  const bytes = await src.exact(pad);
  if (bytes.length < pad) throw malformed(`archive truncated in the padding after member ${JSON.stringify(cur.name)}`, cur.name);
  if (!isZeroBlock(bytes)) {
    throw new CustodyError('UNSAFE_BUNDLE', `non-zero bytes in the padding after member ${JSON.stringify(cur.name)}`, {
      member: cur.name,
      range: [at, at + pad],
    });
  }
  cur.finished = true;
}

async function* bodyOf(src: ByteSource, cur: Current): AsyncGenerator<Uint8Array> {
  while (cur.remaining > 0) {
    const at = src.offset;
    const chunk = await src.some(cur.remaining);
    if (chunk === null) {
      throw malformed(`archive truncated inside member ${JSON.stringify(cur.name)} (${cur.remaining} of ${cur.size} bytes missing)`, cur.name, [at, at + cur.remaining]);
    }
    cur.remaining -= chunk.length;
    yield chunk;
  }
  if (!cur.finished) await readPadding(src, cur);
}

async function drain(src: ByteSource, cur: Current): Promise<void> {
  if (cur.finished) return;
  if (cur.skip && !cur.bodyTaken) {
    const at = src.offset;
    const k = await src.skip(cur.remaining);
    if (k < cur.remaining) {
      throw malformed(`archive truncated inside member ${JSON.stringify(cur.name)} (${cur.remaining - k} of ${cur.size} bytes missing)`, cur.name, [at + k, at + cur.remaining]);
    }
    cur.remaining = 0;
  }
  for await (const _ of bodyOf(src, cur)) {
    // skipped data is still read (and its padding checked)
  }
}

/** Zero padding accepted after the end-of-archive blocks (tar pads to a record of at most a few tens of KiB). */
export const MAX_TRAILING_ZEROS = 1 << 20;

async function readTrailer(src: ByteSource, at: number, pending: boolean): Promise<void> {
  if (pending) throw new CustodyError('UNSAFE_BUNDLE', `pax header not followed by a member (offset ${at})`, { range: [at, at + BLOCK] });
  const second = await src.exact(BLOCK);
  if (second.length < BLOCK) throw malformed(`archive truncated in the end-of-archive marker at offset ${at}`, undefined, [at, at + 2 * BLOCK]);
  if (!isZeroBlock(second)) {
    throw new CustodyError('UNSAFE_BUNDLE', `non-zero bytes in the end-of-archive blocks at offset ${at + BLOCK} (a single zero block, then data)`, {
      range: [at + BLOCK, at + 2 * BLOCK],
    });
  }
  const end = src.offset;
  for (;;) {
    const start = src.offset;
    const chunk = await src.some(1 << 20);
    if (chunk === null) return;
    // Tar writers pad to a record (GNU tar: 10 KiB); endless zeros on a pipe would make verify hang.
    if (start + chunk.length - end > MAX_TRAILING_ZEROS) {
      throw new CustodyError('UNSAFE_BUNDLE', `more than ${MAX_TRAILING_ZEROS} bytes of padding after the end-of-archive marker (offset ${end})`, {
        range: [end, start + chunk.length],
      });
    }
    const k = chunk.findIndex((x) => x !== 0);
    if (k >= 0) {
      throw new CustodyError('UNSAFE_BUNDLE', `data after the end-of-archive marker at offset ${start + k} (only zero padding may follow it)`, {
        range: [start + k, start + chunk.length],
      });
    }
  }
}

/**
 * Whether `expected` is `first` (when given) followed by `block`: a plain loop
 * over the two parts, as every member's header is compared once (a callback
 * per byte, and a copy of the pax header and block, cost more than the check).
 */
function sameBytes(expected: Uint8Array, first: Uint8Array | undefined, block: Uint8Array): boolean {
  const head = first?.length ?? 0;
  if (expected.length !== head + block.length) return false;
  for (let k = 0; k < head; k++) if (expected[k] !== first![k]) return false;
  for (let k = 0; k < block.length; k++) if (expected[head + k] !== block[k]) return false;
  return true;
}

async function* entries(source: AsyncIterable<Uint8Array>, opts: ReadTarOptions, state: { endOfData?: number; archiveSize?: number }): AsyncGenerator<TarEntry, void, undefined> {
  const src = new ByteSource(source, opts.skip);
  const names = opts.names ?? new NameTracker();
  let cur: Current | undefined;
  let pax: { map: Map<string, string>; offset: number; raw: Uint8Array } | undefined;
  try {
    for (;;) {
      if (cur) await drain(src, cur);
      const at = src.offset;
      const block = await src.exact(BLOCK);
      if (block.length === 0) throw malformed(`archive ends at offset ${at} without the end-of-archive marker (truncated)`);
      if (block.length < BLOCK) throw malformed(`archive truncated inside a header at offset ${at}`, undefined, [at, at + BLOCK]);
      if (isZeroBlock(block)) {
        await readTrailer(src, at, pax !== undefined);
        state.endOfData = at;
        state.archiveSize = src.offset;
        return;
      }
      const h = decodeHeader(block, at);
      if (h.typeflag === 'x') {
        if (pax) throw new CustodyError('UNSAFE_BUNDLE', `two pax headers in a row at offset ${at}`, { range: [at, at + BLOCK] });
        if (h.size > MAX_PAX_SIZE) throw new CustodyError('UNSAFE_BUNDLE', `absurd pax header size ${h.size} at offset ${at}`, { range: [at, at + BLOCK] });
        // Copied before more is read: a source may reuse a chunk's buffer once later bytes are asked for (the verifier page does).
        const header = block.slice();
        const data = await src.exact(h.size + paddingFor(h.size));
        if (data.length < h.size + paddingFor(h.size)) throw malformed(`archive truncated inside a pax header at offset ${at}`);
        if (!isZeroBlock(data.subarray(h.size))) {
          throw new CustodyError('UNSAFE_BUNDLE', `non-zero bytes in the padding after the pax header at offset ${at}`, { range: [at, src.offset] });
        }
        const raw = new Uint8Array(BLOCK + data.length);
        raw.set(header, 0);
        raw.set(data, BLOCK);
        pax = { map: parsePax(data.subarray(0, h.size), at), offset: at, raw };
        continue;
      }
      const r = resolveHeader(h, pax?.map, at);
      const name = checkMemberName(r.name, r.type);
      names.add(name, r.type);
      if (opts.canonical) {
        const expected = encodeHeader({ name, type: r.type, size: r.size });
        if (!sameBytes(expected, pax?.raw, block)) {
          const start = pax?.offset ?? at;
          throw new CustodyError('UNSAFE_BUNDLE', `header of member ${JSON.stringify(name)} is not in the canonical form custody writes`, {
            member: name,
            range: [start, at + BLOCK],
          });
        }
      }
      const headerOffset = pax?.offset ?? at;
      pax = undefined;
      const entry: Current = { name, size: r.size, remaining: r.size, finished: false, bodyTaken: false };
      cur = entry;
      yield {
        name,
        type: r.type,
        size: r.size,
        mode: r.mode,
        mtime: r.mtime,
        headerOffset,
        dataOffset: src.offset,
        body(): AsyncIterable<Uint8Array> {
          if (entry.bodyTaken || entry.finished || entry !== cur) {
            throw new CustodyError('INTERNAL', `body of ${JSON.stringify(entry.name)} read twice or after the next entry`);
          }
          entry.bodyTaken = true;
          return bodyOf(src, entry);
        },
        skip(): void {
          if (entry.bodyTaken || entry.finished || entry !== cur) {
            throw new CustodyError('INTERNAL', `body of ${JSON.stringify(entry.name)} skipped after it was read or after the next entry`);
          }
          entry.skip = true;
        },
      };
    }
  } finally {
    await src.close();
  }
}

/**
 * Reads a tar strictly, one entry at a time. Each refusal is a CustodyError:
 * UNSAFE_BUNDLE for hostile content, MALFORMED_BUNDLE for truncation, with
 * `member` (when known), `range` and the rule in the message.
 */
export function readTarStrict(source: AsyncIterable<Uint8Array>, opts: ReadTarOptions = {}): TarReader {
  const state: { endOfData?: number; archiveSize?: number } = {};
  const gen = entries(source, opts, state);
  Object.defineProperty(gen, 'endOfData', { get: () => state.endOfData });
  Object.defineProperty(gen, 'archiveSize', { get: () => state.archiveSize });
  return gen as TarReader;
}
