/**
 * Finds where a tar's end-of-archive marker starts without reading the
 * member data: a header walk that seeks over data (so appending a record to
 * a 500 GB bundle reads a few blocks per member, not 500 GB).
 *
 * Why not scan backwards for the last non-zero byte: a last member whose
 * data ends in whole zero blocks would look like end-of-archive padding, and
 * the append would overwrite evidence.
 *
 * It applies the strict header and name rules and checks that everything
 * from the marker to the end of the file is zero (that tail is what an
 * append overwrites and what recovery restores as zeros). Member data and
 * padding are not read here: callers verify the bundle with the streaming
 * reader before appending to it.
 *
 * Reads go through a window (BlockReader), synchronous positioned reads into
 * one reused buffer: one async pread per header cost ~65 µs of thread-pool
 * round trip, so listing a bundle of 200,000 small files took 13 s; reading
 * 1 MiB windows through it read every byte of the bundle and spent longer
 * copying and collecting garbage. Where members are JUMP bytes apart or more
 * (on a running average) the walk seeks to the next header and reads 1.5 KiB
 * there (a pax header, its records and the header after it); where they are
 * closer it reads a window that holds many headers. Either way a bundle of a
 * few huge images reads a few blocks per member, not its data.
 *
 * On a file the walk awaits nothing per header (each header is decoded in
 * place in the window, without a view or a promise per member) and turns the
 * event loop every YIELD_EVERY headers, so that Ctrl-C still gets in. With
 * the reads, the strict header and name checks and the name bookkeeping,
 * a header costs a few microseconds: the pread itself is about half of it.
 */
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { CustodyError } from '../core/errors.js';
import { BLOCK, MAX_PAX_SIZE, decodeHeader, isZeroBlockAt, paddingFor, parsePax, resolveHeader } from './tar-header.js';
import { NameTracker, checkMemberName } from './tar-names.js';

export async function preadAt(fh: FileHandle, length: number, position: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/**
 * Where the walk's bytes come from: `readInto` reads up to `length` bytes at
 * `position` into the start of `into` and says how many it read (fewer only
 * at the end of the file).
 */
export interface PositionedSource {
  readInto(into: Uint8Array, length: number, position: number): number | Promise<number>;
}

/** A file, read with synchronous pread: the walk waits for each read anyway, and a thread-pool round trip costs more than the read. */
export const fileSource = (fh: FileHandle): PositionedSource => ({
  readInto(into, length, position) {
    let got = 0;
    while (got < length) {
      const n = fs.readSync(fh.fd, into, got, length - got, position + got);
      if (n === 0) break;
      got += n;
    }
    return got;
  },
});

/**
 * Window where headers are close together; SEEK_WINDOW where they are JUMP
 * bytes apart or more (a sync pread costs about as much as copying a few KiB,
 * and a read that stays in one page of the page cache costs less than one
 * that spans two: three blocks, not a whole page).
 */
export const DENSE_WINDOW = 1 << 17;
export const SEEK_WINDOW = 3 * 512;
export const JUMP = 1 << 13;
/** Headers walked between two turns of the event loop (a few milliseconds). */
const YIELD_EVERY = 2048;

/**
 * A cached window over a positioned source. `at(position, length)` serves
 * from the window when it can and otherwise reads a new window starting at
 * `position`, its size chosen by `dense` (the caller's guess whether the
 * next bytes it wants are close by). The bytes returned are a view of the
 * window's buffer, valid until the next call: copy what must outlive it.
 */
export class BlockReader {
  private window = new Uint8Array(DENSE_WINDOW);
  private start = 0;
  private filled = 0;
  /** Positioned reads made so far (tests count them). */
  reads = 0;

  constructor(
    readonly source: PositionedSource,
    /** Bytes of the file the walk may see (a view may end before the file does). */
    readonly limit: number,
  ) {}

  /** The buffer `load` reads into; byte `position` of the file is at buf[position - bufStart]. Valid until the next load. */
  get buf(): Uint8Array {
    return this.window;
  }

  get bufStart(): number {
    return this.start;
  }

  /** Synchronous when the source is (a file): the walk awaits nothing per header then. */
  at(position: number, length: number, dense = true): Uint8Array | Promise<Uint8Array> {
    const got = this.load(position, length, dense);
    const view = (n: number) => this.window.subarray(position - this.start, position - this.start + n);
    return typeof got === 'number' ? view(got) : got.then(view);
  }

  /**
   * Makes the bytes from `position` on (up to `length`) available in `buf`
   * and says how many are (fewer only at the limit): from the window when it
   * holds them, else by reading a new window starting at `position`, its
   * size chosen by `dense` (the caller's guess whether the next bytes it
   * wants are close by). No view is made: the walk reads a header in place.
   */
  load(position: number, length: number, dense = true): number | Promise<number> {
    const end = Math.min(position + length, this.limit);
    if (end <= position) return 0;
    if (position >= this.start && end <= this.start + this.filled) return end - position;
    const want = Math.min(Math.max(end - position, dense ? DENSE_WINDOW : SEEK_WINDOW), this.limit - position);
    if (want > this.window.length) this.window = new Uint8Array(want);
    this.reads++;
    this.start = position;
    this.filled = 0; // a failed read leaves no stale window behind
    const n = this.source.readInto(this.window, want, position);
    if (typeof n === 'number') {
      this.filled = n;
      return Math.min(n, end - position);
    }
    return n.then((k) => {
      this.filled = k;
      return Math.min(k, end - position);
    });
  }
}

export interface LocatedMember {
  name: string;
  type: 'file' | 'dir';
  size: number;
  /** Offset of the member's first data byte. */
  dataOffset: number;
}

export interface LocatedEnd {
  endOfData: number;
  /** Every member in order; with LocateOptions.keep, only those it kept. */
  members: LocatedMember[];
  /** The file size the walk saw (the zero tail runs from endOfData to here). */
  size: number;
  /** Set when `members` holds only the members LocateOptions.keep kept. */
  partial?: true;
}

export interface LocateOptions {
  /**
   * Walk only the first `stopAt` bytes, which must end exactly on a member
   * boundary (the bundle as it was before an interrupted append); the end
   * marker and tail after it are not looked at.
   */
  stopAt?: number | undefined;
  /**
   * Start at this offset, which the caller knows to be a member boundary (a
   * walk of the bytes before it was done under the same lock): only the
   * members from there on are listed. Duplicate names are then checked only
   * among those members.
   */
  from?: number;
  /** A reader to use (and whose window to reuse afterwards); by default one over `fh`. */
  reader?: BlockReader;
  /**
   * Shown every member in order (after its header and name checks); only the
   * members it returns true for are listed. A caller that needs a few of
   * 200,000 members keeps no object per member (they were a tenth of the walk
   * in allocation and garbage collection).
   */
  keep?: (name: string, type: 'file' | 'dir', size: number, dataOffset: number) => boolean;
}

/**
 * The name tracker of a walk from the first member, for an append to check
 * its new names against (tracking 200,000 names again cost as much as the
 * walk). Handed out once: the append adds its own names to it.
 */
const walkNames = new WeakMap<LocatedEnd, NameTracker>();

export function takeWalkNames(located: LocatedEnd): NameTracker | undefined {
  const names = walkNames.get(located);
  walkNames.delete(located);
  return names;
}

/** See LocateOptions; a number as third argument is `stopAt`. */
export async function locateEndOfData(fh: FileHandle | PositionedSource, size: number, opts: number | LocateOptions = {}): Promise<LocatedEnd> {
  const o: LocateOptions = typeof opts === 'number' ? { stopAt: opts } : opts;
  const reader = o.reader ?? new BlockReader('readInto' in fh ? fh : fileSource(fh), size);
  const located = await walk(reader, size, o.stopAt, o.from ?? 0, o.keep);
  if (o.keep) located.partial = true;
  return located;
}

async function walk(reader: BlockReader, size: number, stopAt: number | undefined, from: number, keep: LocateOptions['keep']): Promise<LocatedEnd> {
  const members: LocatedMember[] = [];
  const names = new NameTracker();
  let pax: Map<string, string> | undefined;
  let off = from;
  // Running average of the distance between headers: is the next one likely near?
  let stride = 0;
  let dense = true;
  let sinceYield = 0;
  for (;;) {
    // The loop awaits nothing on a file: let signals (Ctrl-C) and timers in now and then.
    if (++sinceYield === YIELD_EVERY) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (stopAt !== undefined && off >= stopAt) {
      if (off > stopAt || pax) throw new CustodyError('MALFORMED_BUNDLE', `offset ${stopAt} is not on a member boundary of the bundle`);
      return tracked({ endOfData: off, members, size }, names, from);
    }
    const got = reader.load(off, BLOCK, dense);
    if ((typeof got === 'number' ? got : await got) < BLOCK) {
      throw new CustodyError('MALFORMED_BUNDLE', `the bundle has no end-of-archive marker (truncated at offset ${off})`);
    }
    // The header, read in place: reader.buf from `base` on.
    const base = off - reader.bufStart;
    if (isZeroBlockAt(reader.buf, base)) {
      if (pax) throw new CustodyError('UNSAFE_BUNDLE', `pax header not followed by a member (offset ${off})`);
      if (stopAt !== undefined) throw new CustodyError('MALFORMED_BUNDLE', `the bundle ends at offset ${off}, before offset ${stopAt}`);
      await checkZeroTail(reader, off, size);
      return tracked({ endOfData: off, members, size }, names, from);
    }
    const h = decodeHeader(reader.buf, off, base);
    if (h.typeflag === 'x') {
      if (pax || h.size > MAX_PAX_SIZE) throw new CustodyError('UNSAFE_BUNDLE', `bad pax header at offset ${off}`);
      pax = parsePax(await reader.at(off + BLOCK, h.size), off);
      off += BLOCK + h.size + paddingFor(h.size);
      continue;
    }
    const r = resolveHeader(h, pax, off);
    // Without a pax path the name is the header's bytes (valid UTF-8: resolveHeader decoded them), less a directory's '/'.
    const bytes = pax?.has('path') ? undefined : h.nameBytes;
    pax = undefined;
    const name = checkMemberName(r.name, r.type);
    names.add(name, r.type, bytes === undefined || name.length === r.name.length ? bytes : bytes.subarray(0, bytes.length - 1));
    if (keep === undefined || keep(name, r.type, r.size, off + BLOCK)) members.push({ name, type: r.type, size: r.size, dataOffset: off + BLOCK });
    const step = BLOCK + r.size + paddingFor(r.size);
    off += step;
    stride = (3 * stride + step) / 4;
    dense = stride < JUMP;
    if (off > size) throw new CustodyError('MALFORMED_BUNDLE', `the bundle is truncated inside member ${JSON.stringify(name)}`, { member: name });
  }
}

function tracked(located: LocatedEnd, names: NameTracker, from: number): LocatedEnd {
  if (from === 0) walkNames.set(located, names);
  return located;
}

async function checkZeroTail(reader: BlockReader, endOfData: number, size: number): Promise<void> {
  if (size < endOfData + 2 * BLOCK) {
    throw new CustodyError('MALFORMED_BUNDLE', `the bundle is truncated in its end-of-archive marker (offset ${endOfData})`);
  }
  for (let at = endOfData; at < size; at += 1 << 16) {
    const chunk = await reader.at(at, Math.min(1 << 16, size - at));
    const k = chunk.findIndex((b) => b !== 0);
    if (k >= 0) {
      throw new CustodyError('UNSAFE_BUNDLE', `data after the end-of-archive marker at offset ${at + k} (only zero padding may follow it)`, {
        range: [at + k, at + chunk.length],
      });
    }
  }
}
