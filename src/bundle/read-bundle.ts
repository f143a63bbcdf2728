/**
 * One streaming pass over a bundle: the strict tar reader yields the members,
 * this checks that they are exactly the members of DESIGN §3 in that order,
 * hashes every payload member while it streams (full mode: every algorithm of
 * bag-info.txt and the piece SHA-256s; pieces mode: the piece SHA-256s only)
 * into a compact table (payload-table.ts), checks the big tag files that
 * follow (the flat manifests, custody/manifest.json, the piece list) against
 * it as they stream (tag-streams.ts, manifest-stream.ts), and keeps the small
 * tag files whole for the checks that follow. Evidence is never buffered, and
 * no tag file is held whole that grows with the number of files: memory is
 * flat whatever the size of the images, and small per payload member.
 *
 * A member that is unexpected, missing, out of order or duplicated fails
 * here: an attacker must not be able to add a file that extract would write
 * but no manifest covers, or reorder members so that a check is skipped.
 */
import { recordNumber } from '../custody/record.js';
import type { Algo } from '../core/algorithms.js';
import { CustodyError } from '../core/errors.js';
import type { HashDigest, Hasher, PieceDigests, RangeHasher } from '../core/hasher.js';
import { checkBagitTxt, parseBagInfo, type BagInfo } from './bag-info.js';
import * as L from './layout.js';
import { keepFirstBlock, notABundle, sniffNotABundle } from './not-a-bundle.js';
import { readTarStrict, type TarEntry } from './tar-reader.js';
import { NameTracker } from './tar-names.js';
import { utf8 } from '../custody/encoding.js';
import { CustodyManifestCheck } from './manifest-stream.js';
import { PayloadTable } from './payload-table.js';
import { expectedPieceCount } from './pieces.js';
import { SMALL_MEMBER_BYTES } from './positioned.js';
import { ManifestLinesCheck, PiecesCheck } from './tag-streams.js';
import { sha256Hex } from '../core/digest.js';

/** Where extract puts what verify reads (verify alone passes none). */
export interface BundleSink {
  beginPayload(rel: string, size: number): Promise<{ write(chunk: Uint8Array): Promise<void>; end(): Promise<void> }>;
  tagFile(rel: string, bytes: Uint8Array): Promise<void>;
  /**
   * Payload member `member`'s time as custody/manifest.json states it (ms
   * since the epoch), as its element is read (keepFiles 'times'): before the
   * verdict, so only for a folder that is discarded unless everything
   * verifies. Kept by the sink (two numbers) until flushTimes, which the
   * reader awaits after each slice of the file, with the members' names.
   */
  fileTime?(member: number, mtimeMs: number): boolean;
  flushTimes?(nameOf: (member: number) => string): Promise<void>;
}

export interface PayloadSeen {
  path: string; // data/<item>/<path>
  item: string;
  size: number;
  /** Empty in pieces mode: the flat hashes were not computed. */
  digests: Record<string, string>;
  pieces?: PieceDigests;
}

/**
 * full: every algorithm of bag-info.txt and the piece SHA-256s, from the same
 * read. pieces: only the piece SHA-256s, split across all workers (bundles with
 * a piece size of 0 are always read in full: they have nothing else to check).
 */
export type ReadMode = 'full' | 'pieces';

export interface ReadBundle {
  bagName: string;
  /** The mode that actually ran (pieces falls back to full when the piece size is 0). */
  mode: ReadMode;
  info: BagInfo;
  /** What was kept of each payload member, in member order. */
  table: PayloadTable;
  /** The payload members as objects (tests, small bundles: costs ~1 KB a member). */
  readonly payload: PayloadSeen[];
  /** The small tag files, signatures and records, by name relative to the bag root (not the streamed ones below). */
  tags: Map<string, Uint8Array>;
  /** SHA-256 (hex) of every tag file, streamed ones included. */
  tagDigests: Map<string, string>;
  /** The big tag files, checked against the table as they streamed. */
  streamed: {
    manifests: Map<string, ManifestLinesCheck>;
    custody: CustodyManifestCheck;
    pieces: PiecesCheck;
  };
  chain: { member: string; bytes: Uint8Array }[];
  archiveSize: number;
}

export interface ReadOptions {
  engine: Hasher;
  /** Default full. */
  mode?: ReadMode;
  sink?: BundleSink;
  onProgress?: (payloadDone: number, payloadTotal: number) => void;
  /** What the bytes are called in messages (a file name, "stdin"); default "the input". */
  label?: string;
  /**
   * The source is a seekable file: in pieces mode (and without a sink) each
   * payload member is hashed by `hasher` reading the file itself at the
   * member's offset, on every worker at once, while the tar reader jumps past
   * it with `skip`. Everything else (headers, padding, tag files, order,
   * limits) is read and checked exactly as from a stream.
   */
  seekable?: SeekablePayload;
  /** Keep every element of custody/manifest.json's files (default true); verify alone needs none; extract only the times ('times', manifest-stream.ts). */
  keepFiles?: boolean | 'times';
}

export interface SeekablePayload {
  hasher: RangeHasher;
  /** Moves the source forward n bytes without yielding them; returns how far it went (less at its end). */
  skip(n: number): Promise<number>;
}

/**
 * Small tag files are read whole with this cap; the big ones (the flat
 * manifests, custody/manifest.json, the piece list) stream, bounded per line
 * and per entry (L.TAG_LIMITS.tagLineBytes, L.TAG_LIMITS.manifestFileEntryBytes).
 */
const SMALL_TAG = 1 << 20;
/** Payload members up to this size are hashed whole on the reading thread when the hasher can (Hasher.digestSmall). */
const SMALL_MEMBER = SMALL_MEMBER_BYTES;
/** The most piece digests held for payload members beyond their first piece (piece sizes and Payload-Oxum say how many). */
const MAX_EXTRA_PIECES = (64 << 20) / 81;
const STREAMED = new Set([L.CUSTODY_MANIFEST_JSON, L.PIECES_TXT]);
const isStreamed = (rel: string): boolean => STREAMED.has(rel) || rel.startsWith('manifest-');

function malformed(message: string, member?: string): CustodyError {
  return new CustodyError('MALFORMED_BUNDLE', message, member === undefined ? {} : { member });
}

async function readWhole(e: TarEntry, rel: string): Promise<Uint8Array> {
  const cap = SMALL_TAG;
  if (e.size > cap) throw malformed(`${rel} is ${e.size} bytes, more than the ${cap} bytes a tag file may have`, rel);
  const out = new Uint8Array(e.size);
  let at = 0;
  for await (const c of e.body()) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Each piece digest is held until the piece list is checked: a Payload-Oxum
 * and a piece size that need more pieces than that (4 KiB pieces of a forged
 * terabyte would exhaust memory) are refused before any data is read. The
 * bound is what the piece list could hold when it was capped at 64 MiB.
 */
function assertPiecesFit(info: BagInfo): void {
  if (info.pieceSize === 0) return;
  const minLines = Math.ceil(info.payloadBytes / info.pieceSize);
  if (minLines > MAX_EXTRA_PIECES) {
    throw malformed(
      `Payload-Oxum (${info.payloadBytes} bytes) in pieces of ${info.pieceSize} bytes needs more lines than ${L.PIECES_TXT} may hold (${64 << 20} bytes)`,
      L.BAG_INFO_TXT,
    );
  }
}

export async function readBundle(source: AsyncIterable<Uint8Array>, opts: ReadOptions): Promise<ReadBundle> {
  const head = keepFirstBlock(source);
  const lanes = opts.mode === 'pieces' && !opts.sink ? opts.seekable : undefined;
  const names = new NameTracker();
  const reader = readTarStrict(head.stream, { canonical: true, names, ...(lanes ? { skip: (n: number) => lanes.skip(n) } : {}) });
  const it = reader[Symbol.asyncIterator]();
  let bagName = '';
  const label = opts.label ?? 'the input';
  const next = async (): Promise<{ entry: TarEntry; rel: string } | undefined> => {
    let r: IteratorResult<TarEntry, void>;
    try {
      r = await it.next();
    } catch (e) {
      // Failing before the first member: say what the file is, not which header field is wrong. Only the
      // tar reader's own judgement is replaced: a source that fails (a damaged encrypted chunk, an I/O
      // error) says so in its own words.
      const fromReader = e instanceof CustodyError && (e.code === 'MALFORMED_BUNDLE' || e.code === 'UNSAFE_BUNDLE');
      const kind = bagName === '' && fromReader ? sniffNotABundle(head.first()) : undefined;
      if (kind !== undefined) throw notABundle(label, kind, e);
      throw e;
    }
    if (r.done) {
      if (bagName === '') throw notABundle(label, 'no-bagit');
      return undefined;
    }
    const entry = r.value;
    if (bagName === '') {
      const m = /^([^/]+)\/bagit\.txt$/.exec(entry.name);
      if (!m || !L.isValidId(m[1]!) || entry.type !== 'file') throw notABundle(label, 'no-bagit');
      bagName = m[1]!;
    }
    if (entry.type !== 'file') throw malformed(`unexpected directory member ${entry.name} (bundles hold regular files only)`, entry.name);
    if (!entry.name.startsWith(`${bagName}/`)) throw malformed(`member ${entry.name} is outside the bag folder ${bagName}/`, entry.name);
    return { entry, rel: entry.name.slice(bagName.length + 1) };
  };
  const tags = new Map<string, Uint8Array>();
  const tagDigests = new Map<string, string>();
  const expect = async (want: string): Promise<Uint8Array> => {
    const got = await next();
    if (!got) throw malformed(`member ${want} is missing (the bundle ends before it)`, want);
    if (got.rel !== want) throw malformed(`unexpected member ${got.rel} where ${want} must come (members out of order, added, renamed or missing)`, got.rel);
    const bytes = await readWhole(got.entry, want);
    tags.set(want, bytes);
    tagDigests.set(want, sha256Hex(bytes));
    await opts.sink?.tagFile(want, bytes);
    return bytes;
  };

  try {
    checkBagitTxt(await expect(L.BAGIT_TXT));
    const info = parseBagInfo(await expect(L.BAG_INFO_TXT));
    const algos = info.algorithms as Algo[];
    const mode: ReadMode = opts.mode === 'pieces' && info.pieceSize > 0 ? 'pieces' : 'full';
    const positioned = mode === 'pieces' ? lanes : undefined;
    // Positioned members still being hashed, and the first failure: a counter, not a promise per member
    // (a million settled promises held until the end were ~100 MB of a million-file verify).
    const hashed = { pending: 0, error: undefined as unknown, failed: false, idle: undefined as (() => void) | undefined };
    let bytesHashed = 0;
    const onBytes = (n: number) => opts.onProgress?.((bytesHashed += n), info.payloadBytes);
    const spec = mode === 'pieces' ? { algos: [], pieceSize: info.pieceSize, pieceLanes: true } : { algos, pieceSize: info.pieceSize };

    assertPiecesFit(info);
    const table = new PayloadTable(info.pieceSize > 0, mode === 'pieces' ? 8 : Infinity, {
      bytesOf: (k) => names.bytesOf(k),
      compareWith: (k, b, skip) => names.compareWith(k, b, skip),
      get count() {
        return names.count;
      },
      prefix: utf8(`${bagName}/`).length,
    });
    let done = 0;
    const small = opts.engine.digestSmall?.(spec, new Uint8Array(0)) !== undefined;
    let d: HashDigest | undefined;
    let pending = await next();
    while (pending && pending.rel.startsWith('data/')) {
      const { entry, rel } = pending;
      const { item } = L.parsePayloadPath(rel);
      // Payload-Oxum was read before any data: a member that goes past it is refused at its header,
      // before a byte of it is hashed or extracted (a forged 4 GiB member must not reach the disk).
      if (done + entry.size > info.payloadBytes || table.count + 1 > info.payloadFiles) {
        throw new CustodyError(
          'SIZE_MISMATCH',
          `${rel} (${entry.size} bytes) goes past what Payload-Oxum declares (${info.payloadBytes} bytes in ${info.payloadFiles} files; ${done} bytes in ${table.count} files before it)`,
          { member: rel, item },
        );
      }
      if (positioned && !(small && entry.size <= SMALL_MEMBER)) {
        // Hashed by the workers reading the file at its offset; the reader jumps past it (its padding is still checked).
        // Small members are hashed below, on this thread, from the bytes the reader holds anyway: an export of
        // tiny files then starts no piece worker at all (two worker threads were ~50 MB of a million-file verify).
        const i = table.addPending(rel, item, entry.size, expectedPieceCount(info.pieceSize, entry.size));
        const { result } = await positioned.hasher.queue(entry.dataOffset, entry.size, info.pieceSize, onBytes);
        hashed.pending++;
        result.then(
          (d) => table.setPieces(i, d),
          (e: unknown) => {
            if (!hashed.failed) [hashed.failed, hashed.error] = [true, e];
            hashed.idle?.(); // the first failure is thrown at once, as Promise.all would
          },
        ).then(
          () => {
            if (--hashed.pending === 0) hashed.idle?.();
          },
          (e: unknown) => {
            // setPieces threw (a piece count that differs from the one reserved): a failure like any other.
            if (!hashed.failed) [hashed.failed, hashed.error] = [true, e];
            --hashed.pending;
            hashed.idle?.();
          },
        );
        entry.skip();
        done += entry.size;
        pending = await next();
        continue;
      }
      const out = await opts.sink?.beginPayload(rel, entry.size);
      if (small && entry.size <= SMALL_MEMBER) {
        // Whole, on this thread: a worker round trip per file cost more than hashing it.
        let whole: Uint8Array | undefined;
        let at = 0;
        for await (const chunk of entry.body()) {
          if (at === 0 && chunk.length === entry.size) whole = chunk;
          else (whole ??= new Uint8Array(entry.size)).set(chunk, at);
          at += chunk.length;
          if (at === entry.size) d = opts.engine.digestSmall!(spec, whole!);
          await out?.write(chunk);
          done += chunk.length;
          opts.onProgress?.(done, info.payloadBytes);
        }
        await out?.end();
        d ??= opts.engine.digestSmall!(spec, new Uint8Array(0));
        table.add(rel, item, entry.size, d!.digests as Record<string, string>, d!.pieces);
        d = undefined;
        pending = await next();
        continue;
      }
      const session = opts.engine.begin(spec);
      try {
        for await (const chunk of entry.body()) {
          await Promise.all([session.update(chunk), out?.write(chunk)]);
          done += chunk.length;
          opts.onProgress?.(done, info.payloadBytes);
        }
        await out?.end();
        const d = await session.finish();
        table.add(rel, item, entry.size, d.digests as Record<string, string>, d.pieces);
      } catch (e) {
        session.abort();
        throw e;
      }
      pending = await next();
    }
    // The tag files below are checked as they stream, against the pieces in the table: every
    // positioned piece must be in before the first of them is read.
    positioned?.hasher.flush();
    if (hashed.pending > 0 && !hashed.failed) await new Promise<void>((resolve) => (hashed.idle = resolve));
    if (hashed.failed) throw hashed.error;
    positioned?.hasher.release?.(); // the piece lanes are done: their threads end while the tag files are read

    const full = mode === 'full';
    const manifests = new Map<string, ManifestLinesCheck>();
    for (const a of info.algorithms) manifests.set(L.manifestName(a), new ManifestLinesCheck(table, a, L.manifestName(a), full));
    const streamed = {
      manifests: new Map([...manifests.values()].map((m, k) => [info.algorithms[k]!, m])),
      custody: new CustodyManifestCheck(table, {
        full,
        pieceSize: info.pieceSize,
        keepFiles: opts.keepFiles === 'times' ? 'times' : opts.keepFiles !== false,
        manifestOk: (a: string) => manifests.get(L.manifestName(a))?.ok === true,
        ...(opts.keepFiles === 'times' && opts.sink?.fileTime ? { onTime: (i: number, ms: number) => opts.sink!.fileTime!(i, ms) } : {}),
      }),
      pieces: new PiecesCheck(table, info.pieceSize),
    };
    const consumerOf = (rel: string): { push(c: Uint8Array): void; end(): void } | undefined =>
      rel === L.CUSTODY_MANIFEST_JSON ? streamed.custody : rel === L.PIECES_TXT ? streamed.pieces : manifests.get(rel);

    for (const want of L.membersAfterPayload(info.algorithms)) {
      if (!pending) throw malformed(`member ${want} is missing (the bundle ends before it)`, want);
      if (pending.rel !== want) {
        const why = pending.rel.startsWith('data/') ? 'a payload member after the tag files' : 'members out of order, added, renamed or missing';
        throw malformed(`unexpected member ${pending.rel} where ${want} must come (${why})`, pending.rel);
      }
      if (isStreamed(want)) {
        tagDigests.set(want, await streamTag(pending.entry, want, consumerOf(want)!, opts, (i) => table.name(i)));
      } else {
        const bytes = await readWhole(pending.entry, want);
        tags.set(want, bytes);
        tagDigests.set(want, sha256Hex(bytes));
        await opts.sink?.tagFile(want, bytes);
      }
      pending = await next();
    }

    const chain: { member: string; bytes: Uint8Array }[] = [];
    let chainBytes = 0;
    while (pending) {
      const named = L.parseChainMemberName(pending.rel);
      if (!named) throw malformed(`unexpected member ${pending.rel} after the signatures (only custody/chain/NNNN-<action>.dsse.json records may follow)`, pending.rel);
      if (named.seq !== chain.length) {
        throw malformed(`record member ${pending.rel} out of sequence: expected number ${recordNumber(chain.length)}`, pending.rel);
      }
      chainBytes += pending.entry.size;
      if (chainBytes > L.MAX_CHAIN_BYTES) throw malformed(`the custody records are more than ${L.MAX_CHAIN_BYTES} bytes in all (at ${pending.rel})`, pending.rel);
      const bytes = await readWhole(pending.entry, pending.rel);
      chain.push({ member: pending.rel, bytes });
      await opts.sink?.tagFile(pending.rel, bytes);
      pending = await next();
    }
    const read: ReadBundle = {
      bagName,
      mode,
      info,
      table,
      get payload(): PayloadSeen[] {
        return Array.from({ length: table.count }, (_, i) => {
          const p: PayloadSeen = { path: table.name(i), item: table.item(i), size: table.size(i), digests: full ? table.digests(i) : {} };
          const pieces = table.pieces(i);
          if (pieces) p.pieces = { ...pieces, pieceSize: info.pieceSize };
          return p;
        });
      },
      tags,
      tagDigests,
      streamed,
      chain,
      archiveSize: reader.archiveSize ?? 0,
    };
    return read;
  } catch (e) {
    // Workers may still be reading the file: let them finish before the caller closes it.
    await lanes?.hasher.settle();
    throw e;
  } finally {
    await it.return?.(undefined);
  }
}

/**
 * Where the sink takes file times (extract), the check is fed a chunk in
 * slices of this many bytes, and the times each slice gave are handed on
 * before the next: a chunk of custody/manifest.json can hold tens of
 * thousands of elements, whose times would otherwise wait in one batch.
 */
const TIMES_SLICE = 256 << 10;

/**
 * A big tag file: each chunk to its check (which keeps its findings), to the
 * SHA-256 the tag manifest is checked with, and to the sink (extract).
 */
async function streamTag(
  entry: TarEntry,
  rel: string,
  check: { push(c: Uint8Array): void; end(): void },
  opts: ReadOptions,
  nameOf: (member: number) => string,
): Promise<string> {
  const out = await opts.sink?.beginPayload(rel, entry.size);
  const session = opts.engine.beginLocal?.({ algos: ['sha256'] }) ?? opts.engine.begin({ algos: ['sha256'] });
  const sink = opts.sink;
  const flushTimes = sink?.flushTimes ? () => sink.flushTimes!(nameOf) : undefined;
  try {
    for await (const chunk of entry.body()) {
      const hashed = session.update(chunk);
      const written = out?.write(chunk);
      if (flushTimes) {
        for (let at = 0; at < chunk.length; at += TIMES_SLICE) {
          check.push(chunk.subarray(at, at + TIMES_SLICE));
          await flushTimes();
        }
      } else {
        check.push(chunk);
      }
      await Promise.all([hashed, written]);
    }
    check.end();
    await Promise.all([out?.end(), flushTimes?.()]);
    return (await session.finish()).digests.sha256!;
  } catch (e) {
    session.abort();
    throw e;
  }
}
