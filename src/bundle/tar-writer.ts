/**
 * Tar writer for bundles: ustar headers from tar-header.ts (mtime 0 by
 * default, uid/gid 0, no user names: a bundle's bytes do not depend on who
 * sealed it where), data streamed straight through (no copy, so seal reads
 * the evidence once and memory stays flat), and the same name rules as the
 * strict reader, so we never write a bundle our own verify refuses.
 *
 * Not tar-stream's pack: it encodes only ASCII names and gives no hook to
 * check that a streamed member's length equals its header (a file that grew
 * or shrank while being sealed must fail, not produce a corrupt tar).
 */
import fs from 'node:fs';
import type { Writable } from 'node:stream';
import { CustodyError } from '../core/errors.js';
import { END_OF_ARCHIVE, encodeHeader, paddingFor } from './tar-header.js';
import { NameTracker, checkMemberName } from './tar-names.js';

export interface MemberOptions {
  mode?: number;
  /** Seconds since the epoch; defaults to the writer's mtime (0). */
  mtime?: number;
}

export interface TarWriterOptions {
  /** For a file descriptor: the offset of the first byte (positional writes); default 0. */
  position?: number;
  /** Default mtime of every member (DESIGN §3: 0). */
  mtime?: number;
  /** Names already in the archive (append): duplicates of them are refused. */
  existingNames?: { name: string; type: 'file' | 'dir' }[];
  /**
   * For a file descriptor: start an fdatasync in the background after every
   * this many bytes. Seal sets it so the kernel writes the bundle out while we
   * are still hashing: the final fsync then waits for a few MiB, not for the
   * whole image, and a multi-GiB seal does not pile up dirty pages.
   */
  syncEvery?: number;
  /**
   * Gather small writes (headers, padding, small files) into one buffer of
   * this many bytes before writing: for 100,000 small files one write call
   * each for header, data and padding cost more than the hashing. 0 = off.
   */
  bufferBytes?: number;
  /**
   * false: the caller guarantees unique names (seal: one walk per item, item
   * ids distinct), so they are checked one by one but not remembered (that
   * took ~100 bytes a member). Default true.
   */
  trackNames?: boolean;
}

export interface FileSink {
  /** Resolves once the chunk is written: the caller may then reuse its buffer. */
  write(chunk: Uint8Array): Promise<void>;
  /** Writes the padding; throws if fewer bytes were written than the header says. */
  end(): Promise<void>;
}

function ioError(e: unknown): CustodyError {
  if (e instanceof CustodyError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const reason = code === 'ENOSPC' ? 'disk full' : e instanceof Error ? e.message : String(e);
  return new CustodyError('IO_ERROR', `cannot write the tar: ${reason}`, { cause: e });
}

/** Writes all of `buf` at `position` (short writes are continued). */
export async function writeFully(fd: number, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const n = await new Promise<number>((resolve, reject) => {
      fs.write(fd, buf, done, buf.length - done, position + done, (err, written) => (err ? reject(err) : resolve(written)));
    });
    done += n;
  }
}

function writeStream(w: Writable, buf: Uint8Array): Promise<void> {
  // Resolve on the write callback, not on 'drain': the stream may still hold
  // a reference to `buf` until then, and the caller will reuse it.
  return new Promise((resolve, reject) => {
    w.write(buf, (err) => (err ? reject(err) : resolve()));
  });
}

export class TarWriter {
  /** Bytes written by this writer so far. */
  bytesWritten = 0;
  private readonly start: number;
  private readonly mtime: number;
  private readonly names = new NameTracker();
  private open: string | undefined;
  private finished = false;
  private readonly syncEvery: number;
  private sinceSync = 0;
  private syncing: Promise<void> | undefined;
  /** A failed background sync means written data may be lost: the next write or finish() fails with it. */
  private syncError: unknown;
  private readonly buffer: Uint8Array | undefined;
  private buffered = 0;
  private readonly trackNames: boolean;

  constructor(
    private readonly sink: number | Writable,
    opts: TarWriterOptions = {},
  ) {
    this.start = opts.position ?? 0;
    this.mtime = opts.mtime ?? 0;
    this.syncEvery = opts.syncEvery ?? 0;
    this.buffer = (opts.bufferBytes ?? 0) > 0 ? new Uint8Array(opts.bufferBytes!) : undefined;
    this.trackNames = opts.trackNames ?? true;
    for (const e of opts.existingNames ?? []) this.names.add(e.name, e.type);
  }

  private async write(buf: Uint8Array): Promise<void> {
    if (buf.length === 0) return;
    if (this.syncError !== undefined) throw ioError(this.syncError);
    if (this.buffer) {
      if (this.buffered + buf.length > this.buffer.length) await this.flush();
      if (buf.length < this.buffer.length) {
        this.buffer.set(buf, this.buffered);
        this.buffered += buf.length;
        this.bytesWritten += buf.length;
        return;
      }
    }
    await this.writeOut(buf);
    this.bytesWritten += buf.length;
  }

  /** Writes what the buffer holds (it sits just before bytesWritten). */
  private async flush(): Promise<void> {
    if (!this.buffer || this.buffered === 0) return;
    const n = this.buffered;
    this.buffered = 0;
    this.bytesWritten -= n;
    await this.writeOut(this.buffer.subarray(0, n));
    this.bytesWritten += n;
  }

  private async writeOut(buf: Uint8Array): Promise<void> {
    try {
      if (typeof this.sink === 'number') await writeFully(this.sink, buf, this.start + this.bytesWritten);
      else await writeStream(this.sink, buf);
    } catch (e) {
      throw ioError(e);
    }
    this.sinceSync += buf.length;
    this.backgroundSync();
  }

  private backgroundSync(): void {
    if (typeof this.sink !== 'number' || this.syncEvery <= 0 || this.syncing || this.sinceSync < this.syncEvery) return;
    const fd = this.sink;
    this.sinceSync = 0;
    this.syncing = new Promise((resolve) => {
      fs.fdatasync(fd, (err) => {
        if (err) this.syncError ??= err;
        this.syncing = undefined;
        resolve();
      });
    });
  }

  private header(name: string, type: 'file' | 'dir', size: number, opts: MemberOptions): Uint8Array {
    if (this.finished) throw new CustodyError('INTERNAL', 'tar writer already finished');
    if (this.open !== undefined) throw new CustodyError('INTERNAL', `member ${JSON.stringify(this.open)} is still being written`);
    const clean = checkMemberName(name, type);
    if (this.trackNames) this.names.add(clean, type);
    return encodeHeader({ name: clean, type, size, mtime: opts.mtime ?? this.mtime, ...(opts.mode === undefined ? {} : { mode: opts.mode }) });
  }

  /** A small member in one write: header, data, padding. */
  async addFile(name: string, bytes: Uint8Array, opts: MemberOptions = {}): Promise<void> {
    await this.write(encodeFileMember(this.header(name, 'file', bytes.length, opts), bytes));
  }

  async addDirectory(name: string, opts: MemberOptions = {}): Promise<void> {
    await this.write(this.header(name, 'dir', 0, opts));
  }

  /** A streamed member: exactly `size` bytes must follow through write(), then end(). */
  async beginFile(name: string, size: number, opts: MemberOptions = {}): Promise<FileSink> {
    const header = this.header(name, 'file', size, opts);
    await this.write(header);
    this.open = name;
    let written = 0;
    const fail = (what: string) =>
      new CustodyError('IO_ERROR', `member ${JSON.stringify(name)}: ${what} (the source changed size while being read?)`, { member: name });
    return {
      write: async (chunk) => {
        if (written + chunk.length > size) throw fail(`more than the ${size} bytes announced in its header`);
        written += chunk.length;
        await this.write(chunk);
      },
      end: async () => {
        if (written !== size) throw fail(`${written} bytes written, header says ${size}`);
        await this.write(new Uint8Array(paddingFor(size)));
        this.open = undefined;
      },
    };
  }

  /** Writes the end-of-archive blocks. Does not close the descriptor or end the stream. */
  async finish(): Promise<{ endOfData: number }> {
    if (this.open !== undefined) throw new CustodyError('INTERNAL', `member ${JSON.stringify(this.open)} was not ended`);
    const endOfData = this.start + this.bytesWritten;
    await this.write(END_OF_ARCHIVE);
    await this.flush();
    await this.syncing;
    if (this.syncError !== undefined) throw ioError(this.syncError);
    this.finished = true;
    return { endOfData };
  }
}

/** Header block(s) + data + zero padding of one member, as one buffer. */
export function encodeFileMember(header: Uint8Array, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(header.length + bytes.length + paddingFor(bytes.length));
  out.set(header, 0);
  out.set(bytes, header.length);
  return out;
}
