/**
 * Pieces mode gets going before the verifier is loaded. Loading custody's
 * verification code (the strict tar reader, the tag file checks, the chain
 * rules, the ledger, the CLI around them) takes a Node process a good part
 * of what hashing 1 GiB on two cores takes; the payload's position in the
 * file does not depend on any of it. So `custody verify <file>` opens the
 * bundle first, starts the piece lanes (piece-pool.ts) and queues the pieces
 * of the first large payload members, found by a quick walk over the tar
 * headers, while the rest of the program loads. The strict reader
 * (read-bundle.ts) then asks for each member's pieces as it always does, and
 * takes the ones queued ahead.
 *
 * Threat guarded against: a lenient look-ahead that decides anything. This
 * walk checks nothing and is trusted with nothing: it only guesses byte
 * ranges. A digest is handed over only for exactly the range (offset, size,
 * piece size) the strict reader asks for, and it is the digest of those bytes
 * of the same open file, computed by the same lane code — the strict reader
 * would have queued the same job. A wrong guess (a hostile header, pax
 * records the walk does not follow, anything odd) only means work that is
 * not used: the walk stops at the first header it does not understand, when
 * the strict reader asks for a range it did not guess, and at settle() or
 * close(); what is queued is bounded by the lanes' jobs in flight.
 */
import fs from 'node:fs';
import type { PieceDigests, RangeHasher } from '../core/hasher.js';
import { PiecePool } from '../core/piece-pool.js';
import { SMALL_MEMBER_BYTES } from './positioned.js';
import { SeekableFile } from './seekable-file.js';
import { mark } from '../core/timeline.js';
import { parseBagInfo } from './bag-info.js';
import { decodeHeader, parsePax, resolveHeader, type DecodedHeader, type ResolvedHeader } from './tar-header.js';


/** Headers the walk looks at, at most (an export of many small files gains nothing from it). */
const MAX_HEADERS = 4096;
/** bag-info.txt is read whole by the walk only up to this size. */
const MAX_BAG_INFO = 64 << 10;

const BLOCK = 512;

type Queued = Promise<{ result: Promise<PieceDigests> }>;

/** A bundle file opened for pieces mode, its piece lanes started and the first payload pieces queued. */
export class EarlyPieces implements RangeHasher {
  private readonly ahead = new Map<string, Queued>();
  private stopped = false;
  private walking: Promise<void> = Promise.resolve();
  /** Ranges the walk queued ahead, and those the strict reader took. */
  guessed = 0;
  taken = 0;

  private constructor(
    /** The path as given (verify uses these only for the same path). */
    readonly path: string,
    readonly file: SeekableFile,
    private readonly pool: PiecePool,
  ) {}

  /** Opens `path` and starts `lanes` piece lanes; undefined when the file cannot be opened (the normal path reports why). */
  static async start(path: string, lanes: number): Promise<EarlyPieces | undefined> {
    let file: SeekableFile;
    try {
      file = await SeekableFile.open(path);
    } catch {
      return undefined;
    }
    const early = new EarlyPieces(path, file, new PiecePool({ fd: file.fd, workers: lanes, label: path }));
    // The main thread loads the verifier first; it joins the lanes when the strict reader asks for its first range.
    early.pool.holdMainLane(true);
    early.pool.start();
    early.walking = early.walk().catch(() => {});
    return early;
  }

  get workerCount(): number {
    return this.pool.workerCount;
  }

  get mainLane(): boolean {
    return this.pool.mainLane;
  }

  async queue(offset: number, size: number, pieceSize: number, onBytes?: (n: number) => void): Promise<{ result: Promise<PieceDigests> }> {
    if (this.taken === 0 && !this.stopped) mark('prefetch: strict reader asks its first range');
    this.pool.holdMainLane(false);
    const key = `${offset}/${size}/${pieceSize}`;
    const queued = this.ahead.get(key);
    if (queued === undefined) {
      // The strict reader has gone past the walk's guesses: from here on it queues everything itself.
      this.stopped = true;
      return this.pool.queue(offset, size, pieceSize, onBytes);
    }
    this.ahead.delete(key);
    this.taken++;
    const q = await queued;
    if (onBytes) q.result.then(() => onBytes(size), () => {});
    return q;
  }

  flush(): void {
    this.pool.flush();
  }

  /** Stops the walk (a range it is still queuing is dropped) and waits for what the lanes have started. */
  async settle(): Promise<void> {
    this.stopped = true;
    this.pool.holdMainLane(false);
    await this.pool.settle();
    await this.walking;
  }

  /** The strict reader has every piece it asked for: the walk stops and the lanes end (piece-pool.ts release()). */
  release(): void {
    this.stopped = true;
    this.pool.release();
  }

  /** settle(), then ends the lanes and closes the file. */
  async close(): Promise<void> {
    await this.settle();
    await this.pool.close();
    await this.file.close();
  }

  private async read(at: number, n: number): Promise<Uint8Array | undefined> {
    const buf = new Uint8Array(n);
    const got = await new Promise<number>((resolve) => fs.read(this.file.fd, buf, 0, n, at, (e, k) => resolve(e ? 0 : k)));
    return got === n ? buf : undefined;
  }

  /** The walk over the headers (ustar, with pax `size` records): queues the pieces of the large payload members, in order. */
  private async walk(): Promise<void> {
    let at = 0;
    let bag: string | undefined;
    let pieceSize = 0;
    let pax: Map<string, string> | undefined;
    for (let n = 0; n < MAX_HEADERS && !this.stopped; n++) {
      const h = await this.read(at, BLOCK);
      if (!h) return;
      let header: DecodedHeader;
      try {
        header = decodeHeader(h, at); // the tar reader's own decoding; a header it refuses ends the guessing
      } catch {
        return;
      }
      const data = at + BLOCK;
      const next = data + Math.ceil(header.size / BLOCK) * BLOCK;
      if (header.typeflag === 'x') {
        try {
          const rec = header.size <= MAX_BAG_INFO ? await this.read(data, header.size) : undefined;
          pax = rec && parsePax(rec, data);
        } catch {
          return;
        }
        at = next;
        continue;
      }
      let member: ResolvedHeader;
      try {
        member = resolveHeader(header, pax, at); // the reader's own rules for pax path and size
      } catch {
        return;
      }
      pax = undefined;
      if (member.type !== 'file') return;
      const { name: path, size } = member;
      if (bag === undefined) {
        const m = /^([^/]+)\/bagit\.txt$/.exec(path);
        if (!m) return;
        bag = m[1]!;
      } else if (path === `${bag}/bag-info.txt`) {
        const info = size <= MAX_BAG_INFO ? await this.read(data, size) : undefined;
        try {
          pieceSize = info ? parseBagInfo(info).pieceSize : 0; // the verifier's own reading; a bag-info it refuses ends the guessing
        } catch {
          return;
        }
        if (!(pieceSize > 0)) return;
      } else if (path.startsWith(`${bag}/data/`) && pieceSize > 0) {
        if (size > SMALL_MEMBER_BYTES) {
          if (this.stopped) return;
          const key = `${data}/${size}/${pieceSize}`;
          const queued = this.pool.queue(data, size, pieceSize);
          queued.catch(() => {});
          this.ahead.set(key, queued);
          this.guessed++;
          mark(`prefetch: walk queued ${data}+${size}`);
          await queued;
        }
      } else {
        return; // past the payload
      }
      at = data + Math.ceil(size / BLOCK) * BLOCK;
    }
  }
}

