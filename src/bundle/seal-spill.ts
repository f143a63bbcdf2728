/**
 * Where seal keeps what it learns of each file while the evidence streams
 * into the tar: on disk, in the run's temporary area, not in memory — an
 * export of 1,000,000 files held as objects took gigabytes. Three files:
 * the `files` entries of custody/manifest.json as they will be written
 * (member order), one compact JSON line per file (for the ledger), and a
 * fixed-size record per file (raw digests, piece count and where its piece
 * digests are) that the sorted manifests are written from.
 *
 * The tag files are written here first (their sizes go into tar headers
 * before their bytes) and hashed on the way, then copied into the tar.
 *
 * Threat: a seal that runs out of memory on a large export, or leaves
 * temporaries behind; the folder is tracked (removed on a signal) and
 * removed when seal is done.
 */
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HEX_LENGTH, type Algo } from '../core/algorithms.js';
import { CustodyError } from '../core/errors.js';
import type { ManifestFile } from './custody-manifest.js';
import { TAG_LIMITS } from './layout.js';
import { trackTemp, untrackTemp } from './temp-files.js';

const enc = new TextEncoder();

/**
 * Records read back at once (~43 KB with MD5, SHA-1 and SHA-256): manifest order is member order with
 * subtrees moved whole, so nearly every record comes from a run already read, and a tree that moves
 * many small subtrees costs at most one such read per record.
 */
const RECORDS_READ = 512;

/** A file written through a 1 MiB buffer, optionally SHA-256'd as it goes. */
export class SpillWriter {
  readonly file: string;
  size = 0;
  private readonly fd: number;
  private readonly buf = Buffer.alloc(1 << 20);
  private used = 0;
  private readonly hash: Hash | undefined;
  private closed = false;

  constructor(file: string, hashed: boolean) {
    this.file = file;
    this.fd = fs.openSync(file, 'w', 0o600);
    this.hash = hashed ? createHash('sha256') : undefined;
  }

  write(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? (data.length * 3 <= this.buf.length - this.used ? undefined : enc.encode(data)) : data;
    if (bytes === undefined) {
      // Encode straight into the buffer.
      this.used += this.buf.write(data as string, this.used, 'utf8'); // size and hash: at flush
      return;
    }
    if (this.used + bytes.length > this.buf.length) this.flush();
    if (bytes.length >= this.buf.length) return this.out(bytes);
    this.buf.set(bytes, this.used);
    this.used += bytes.length;
  }

  private out(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(this.fd, bytes, done, bytes.length - done);
    this.hash?.update(bytes);
    this.size += bytes.length;
  }

  flush(): void {
    if (this.used === 0) return;
    const n = this.used;
    this.used = 0;
    this.out(this.buf.subarray(0, n));
  }

  /** Flushes and closes; returns the SHA-256 (when hashed) and the size. */
  close(): { size: number; sha256: string } {
    if (!this.closed) {
      this.flush();
      fs.closeSync(this.fd);
      this.closed = true;
    }
    return { size: this.size, sha256: this.hash ? this.hash.digest('hex') : '' };
  }
}

export interface SpilledRecord {
  digests: Record<string, string>;
  pieceCount: number;
  /** Index of the first piece digest in the piece spill. */
  pieceAt: number;
}

export class SealSpill {
  readonly dir: string;
  count = 0;
  private readonly recordSize: number;
  private readonly entries: SpillWriter;
  private readonly lines: SpillWriter;
  private readonly records: SpillWriter;
  private readonly pieces: SpillWriter;
  private piecesCount = 0;
  private readFds: { records: number; pieces: number } | undefined;
  private readonly recordBuf: Buffer;
  /** Records read back: run `readRun` of RECORDS_READ records. */
  private readonly readBuf: Buffer;
  private readRun = -1;
  /** Piece digests of one file, read back (reused: one Buffer per file was a million small allocations). */
  private pieceBuf = Buffer.alloc(32 * 64);

  /** `dir`: a folder to create (must not exist); default one under the system's temporary folder. */
  constructor(
    private readonly algos: Algo[],
    dir?: string,
  ) {
    if (!algos.includes('sha256')) throw new CustodyError('INTERNAL', 'the seal spill needs sha256 among the algorithms');
    this.dir = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'custody-seal-'));
    if (dir !== undefined) fs.mkdirSync(dir, { mode: 0o700 });
    trackTemp(this.dir);
    this.recordSize = algos.reduce((n, a) => n + HEX_LENGTH[a] / 2, 0) + 16;
    this.recordBuf = Buffer.alloc(this.recordSize);
    this.readBuf = Buffer.alloc(this.recordSize * RECORDS_READ);
    this.entries = new SpillWriter(path.join(this.dir, 'files.json'), false);
    this.lines = new SpillWriter(path.join(this.dir, 'files.jsonl'), false);
    this.records = new SpillWriter(path.join(this.dir, 'records.bin'), false);
    this.pieces = new SpillWriter(path.join(this.dir, 'pieces.bin'), false);
  }

  /** One file's entry, in member order; `pieceHashes` when pieces are on. */
  add(mf: ManifestFile, pieceHashes: string[] | undefined): void {
    const entry = `    ${JSON.stringify(mf, null, 2).replace(/\n/g, '\n    ')}`;
    if (Buffer.byteLength(entry) > TAG_LIMITS.manifestFileEntryBytes) {
      throw new CustodyError('USAGE', `cannot seal ${mf.path}: its entry in custody/manifest.json would be more than ${TAG_LIMITS.manifestFileEntryBytes} bytes`);
    }
    this.entries.write(this.count === 0 ? entry : `,\n${entry}`);
    this.lines.write(`${JSON.stringify(mf)}\n`);
    const r = this.recordBuf;
    let at = 0;
    for (const a of this.algos) at += r.write(mf.hashes[a]!, at, 'hex');
    r.writeDoubleLE(pieceHashes?.length ?? 0, at);
    r.writeDoubleLE(this.piecesCount, at + 8);
    this.records.write(r);
    // One piece is the whole file: its digest is the file's SHA-256, kept once (in the record).
    if (pieceHashes?.length === 1) {
      if (pieceHashes[0] !== mf.hashes.sha256) throw new CustodyError('INTERNAL', `${mf.path}: the digest of its one piece is not its SHA-256`);
    } else {
      for (const h of pieceHashes ?? []) this.pieces.write(Buffer.from(h, 'hex'));
      this.piecesCount += pieceHashes?.length ?? 0;
    }
    this.count++;
  }

  /** Done adding: the spill becomes readable. */
  endFiles(): void {
    for (const w of [this.entries, this.lines, this.records, this.pieces]) w.close();
    this.readFds = { records: fs.openSync(this.records.file, 'r'), pieces: fs.openSync(this.pieces.file, 'r') };
  }

  /** The record of file number `i` (member order). */
  record(i: number): SpilledRecord {
    if (!(Number.isSafeInteger(i) && i >= 0 && i < this.count)) throw new CustodyError('INTERNAL', `the seal's spill has no record ${i}`);
    const run = Math.floor(i / RECORDS_READ);
    if (run !== this.readRun) {
      const first = run * RECORDS_READ;
      const n = Math.min(RECORDS_READ, this.count - first) * this.recordSize;
      if (fs.readSync(this.readFds!.records, this.readBuf, 0, n, first * this.recordSize) !== n) throw new CustodyError('INTERNAL', `the seal's spill lost record ${i}`);
      this.readRun = run;
    }
    const r = this.readBuf;
    let at = (i - run * RECORDS_READ) * this.recordSize;
    const digests: Record<string, string> = {};
    for (const a of this.algos) {
      const n = HEX_LENGTH[a] / 2;
      digests[a] = r.toString('hex', at, at + n);
      at += n;
    }
    return { digests, pieceCount: r.readDoubleLE(at), pieceAt: r.readDoubleLE(at + 8) };
  }

  pieceHashes(rec: SpilledRecord): string[] {
    if (rec.pieceCount === 1) return [rec.digests.sha256!];
    const n = rec.pieceCount * 32;
    if (this.pieceBuf.length < n) this.pieceBuf = Buffer.alloc(Math.max(n, this.pieceBuf.length * 2));
    const b = this.pieceBuf;
    if (n > 0) fs.readSync(this.readFds!.pieces, b, 0, n, rec.pieceAt * 32);
    const out: string[] = [];
    for (let i = 0; i < rec.pieceCount; i++) out.push(b.toString('hex', i * 32, i * 32 + 32));
    return out;
  }

  /** custody/manifest.json's `files` array body (entries joined, no brackets), copied into `to`. */
  copyEntries(to: SpillWriter): void {
    copyFile(this.entries.file, to);
  }

  /**
   * Every file's manifest entry, in member order (read back from the spill).
   * Lines are cut from the bytes read and decoded one by one: decoding each
   * 1 MiB read whole made strings too large for V8's young generation, and
   * the ledger's pass over a million files grew the heap by ~80 MB before a
   * full collection took them back.
   */
  *files(): Generator<ManifestFile> {
    const fd = fs.openSync(this.lines.file, 'r');
    try {
      const buf = Buffer.alloc(1 << 20); // a line is at most TAG_LIMITS.manifestFileEntryBytes (add())
      let have = 0;
      for (;;) {
        if (have === buf.length) throw new CustodyError('INTERNAL', "a line of the seal's spill is longer than its reads");
        const n = fs.readSync(fd, buf, have, buf.length - have, null);
        if (n === 0) break;
        have += n;
        const read = buf.subarray(0, have);
        let start = 0;
        for (let nl = read.indexOf(0x0a, start); nl !== -1; nl = read.indexOf(0x0a, start)) {
          yield JSON.parse(read.toString('utf8', start, nl)) as ManifestFile;
          start = nl + 1;
        }
        buf.copy(buf, 0, start, have);
        have -= start;
      }
      if (have > 0) throw new CustodyError('INTERNAL', "the seal's spill ends inside a line");
    } finally {
      fs.closeSync(fd);
    }
  }

  /** A tag file written here first (hashed as it goes), to copy into the tar once complete. */
  tagWriter(name: string): SpillWriter {
    return new SpillWriter(path.join(this.dir, `tag-${name.replace(/[^A-Za-z0-9.-]/g, '_')}`), true);
  }

  close(): void {
    if (this.readFds) {
      fs.closeSync(this.readFds.records);
      fs.closeSync(this.readFds.pieces);
      this.readFds = undefined;
    }
    for (const w of [this.entries, this.lines, this.records, this.pieces]) {
      try {
        w.close();
      } catch {
        /* already closed */
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    untrackTemp(this.dir);
  }
}

function copyFile(from: string, to: SpillWriter): void {
  const fd = fs.openSync(from, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      to.write(buf.subarray(0, n));
      to.flush(); // the buffer is reused by the next read
    }
  } finally {
    fs.closeSync(fd);
  }
}
