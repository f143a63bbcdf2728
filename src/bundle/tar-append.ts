/**
 * Crash-safe append of members to a bundle (DESIGN §3, issue 5): new members
 * overwrite the old end-of-archive blocks; nothing before them is rewritten.
 *
 * Threat: an append killed at any instant (kill -9, power loss, disk full)
 * must not leave a bundle that fails verification. Protocol:
 *   1. lock: a complete journal (phase "lock": pid, host) is hard-linked
 *      into place, which fails if one exists (O_EXCL semantics, atomic, so a
 *      second appender is refused and the journal is never half-written);
 *   2. under the lock: find the end-of-data offset (header walk), then
 *      replace the journal (write temp, fsync, rename, fsync dir) with phase
 *      "append": the old size, the end-of-data offset and the SHA-256 of up
 *      to 64 KiB before it (identifies the bundle, so a journal left beside
 *      another copy is refused, not applied);
 *   3. write the members and new end blocks at end-of-data; fsync;
 *   4. remove the journal; fsync the dir.
 * Recovery (every command calls it before reading a bundle): an "append"
 * journal that matches means step 3 may be partial: truncate to end-of-data
 * and rewrite the old tail, which the strict format guarantees was all
 * zeros, then remove the journal: the bundle is byte-for-byte what it was.
 * A bundle on a read-only medium cannot be repaired: bundleReadStream then
 * yields that same old view without writing.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CustodyError, fromSystemError } from '../core/errors.js';
import { END_OF_ARCHIVE, encodeHeader } from './tar-header.js';
import { locateEndOfData, preadAt } from './tar-locate.js';
import { NameTracker, checkMemberName } from './tar-names.js';
import { encodeFileMember } from './tar-writer.js';
import { openForReading } from '../core/open-file.js';

export const JOURNAL_SUFFIX = '.custody-journal';
const TAIL_BYTES = 1 << 16;
/**
 * Zeros a rollback may restore beyond the file's current size (an interrupted
 * rollback had already truncated). Without a bound, a planted journal naming
 * a huge old size made recovery write zeros until the disk was full, and a
 * read-only view stream zeros for days. Bundles end in 1 KiB of zeros (GNU
 * tar pads to 10 KiB).
 */
const MAX_RESTORED_ZEROS = 1 << 20;

/** Test hook: SIGKILL ourselves at the n-th step of an append (kill tests). */
export const ABORT_ENV = 'CUSTODY_TEST_APPEND_ABORT_AT';
/** Test hook: the same inside recovery. */
export const RECOVER_ABORT_ENV = 'CUSTODY_TEST_RECOVER_ABORT_AT';

interface Journal {
  custodyJournal: 1;
  phase: 'lock' | 'append';
  bundle: string;
  pid: number;
  host: string;
  at: string;
  size?: number;
  endOfData?: number;
  tailSha256?: string;
}

export function journalPathFor(bundlePath: string): string {
  return `${bundlePath}${JOURNAL_SUFFIX}`;
}

function killSwitch(env: string): { active: boolean; point(): void } {
  const target = Number(process.env[env] ?? 0);
  let step = 0;
  return {
    active: target > 0,
    point() {
      if (target > 0 && ++step === target) process.kill(process.pid, 'SIGKILL');
    },
  };
}

function ioError(e: unknown, what: string): CustodyError {
  if (e instanceof CustodyError) return e;
  const err = fromSystemError(e, what);
  return err.code === 'IO_ERROR' ? new CustodyError('IO_ERROR', `cannot append to ${what}: ${(e as Error).message}`, { cause: e }) : err;
}

async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch (e) {
    // Some platforms cannot fsync a directory (Windows, some FUSE); rename is then as durable as it gets.
    if (!['EISDIR', 'EPERM', 'EINVAL', 'EBADF', 'EACCES'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    await fh?.close();
  }
}

async function writeDurably(file: string, text: string): Promise<void> {
  const fh = await fsp.open(file, 'wx', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** link() is atomic and fails if the target exists; file systems without hard links (FAT, exFAT) get O_EXCL create instead. */
async function linkOrCreate(tmp: string, target: string, text: string): Promise<void> {
  try {
    await fsp.link(tmp, target);
  } catch (e) {
    if (!['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    await writeDurably(target, text);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readJournal(bundlePath: string): Promise<Journal | undefined> {
  const jp = journalPathFor(bundlePath);
  let text: string;
  try {
    text = await fsp.readFile(jp, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(e, jp);
  }
  let j: Journal;
  try {
    j = JSON.parse(text) as Journal;
  } catch {
    j = {} as Journal;
  }
  if (j.custodyJournal !== 1 || (j.phase !== 'lock' && j.phase !== 'append')) {
    throw new CustodyError('IO_ERROR', `${jp} is not a custody append journal (or is damaged); it was not applied`, {
      hint: 'if no custody process is running, move it away and retry',
    });
  }
  return j;
}

/** Refuses a journal another live process holds (same host: crashed ones from other hosts are recoverable). */
function assertNotLive(j: Journal, bundlePath: string): void {
  if (j.host === os.hostname() && j.pid !== process.pid && processAlive(j.pid)) {
    throw new CustodyError('IO_ERROR', `${bundlePath} is being appended to by process ${j.pid}`, { hint: 'wait for it to finish and retry' });
  }
}

async function tailDigest(fh: FileHandle, endOfData: number): Promise<string> {
  const start = Math.max(0, endOfData - TAIL_BYTES);
  return createHash('sha256')
    .update(await preadAt(fh, endOfData - start, start))
    .digest('hex');
}

/** Checks that an "append" journal describes this bundle (not another copy, not a rewritten file). */
async function assertMatches(j: Journal, fh: FileHandle, bundlePath: string): Promise<void> {
  const { size } = await fh.stat();
  const ok =
    j.bundle === path.basename(bundlePath) &&
    Number.isSafeInteger(j.endOfData) &&
    Number.isSafeInteger(j.size) &&
    j.size! >= j.endOfData! &&
    size >= j.endOfData! &&
    // An append never shrinks the file: a larger old size is only an interrupted rollback, which restores a short zero tail.
    j.size! <= Math.max(size, j.endOfData! + MAX_RESTORED_ZEROS) &&
    (await tailDigest(fh, j.endOfData!)) === j.tailSha256;
  if (!ok) {
    throw new CustodyError('IO_ERROR', `${journalPathFor(bundlePath)} does not match ${bundlePath} (a stale journal from another copy?); it was not applied`, {
      hint: 'if this bundle verifies without it, move the journal away',
    });
  }
}

/** Restores the bytes after end-of-data: the old tail was all zeros. */
async function rollBack(fh: FileHandle, j: Journal, kill = killSwitch('')): Promise<void> {
  await fh.truncate(j.endOfData!);
  kill.point();
  const zeros = new Uint8Array(1 << 16);
  for (let at = j.endOfData!; at < j.size!; at += zeros.length) {
    await fh.write(zeros, 0, Math.min(zeros.length, j.size! - at), at);
  }
  kill.point();
  await fh.sync();
  kill.point();
}

async function removeStaleTemps(bundlePath: string): Promise<void> {
  const dir = path.dirname(bundlePath);
  const prefix = `${path.basename(journalPathFor(bundlePath))}.`;
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    const m = name.startsWith(prefix) ? /^(\d+)\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (m && (Number(m[1]) === process.pid || !processAlive(Number(m[1])))) await fsp.rm(path.join(dir, name), { force: true });
  }
}

/**
 * Undoes an interrupted append, if there is one. Returns true when it
 * repaired or cleaned something; false when there was nothing to do or the
 * bundle cannot be written (read-only medium: use bundleReadStream).
 * Throws IO_ERROR for a journal held by a live process or one that does not
 * match the bundle.
 */
export async function recoverInterruptedAppend(bundlePath: string): Promise<boolean> {
  const j = await readJournal(bundlePath);
  if (!j) {
    // a kill before the lock was taken leaves only a temp file: nothing was written to the bundle
    await removeStaleTemps(bundlePath);
    return false;
  }
  assertNotLive(j, bundlePath);
  const jp = journalPathFor(bundlePath);
  const dir = path.dirname(bundlePath);
  if (j.phase === 'append') {
    let fh: FileHandle;
    try {
      fh = await fsp.open(bundlePath, 'r+');
    } catch (e) {
      if (['EROFS', 'EACCES', 'EPERM'].includes((e as NodeJS.ErrnoException).code ?? '')) return false;
      throw ioError(e, bundlePath);
    }
    try {
      await assertMatches(j, fh, bundlePath);
      await rollBack(fh, j, killSwitch(RECOVER_ABORT_ENV));
    } finally {
      await fh.close();
    }
  } else if (j.bundle !== path.basename(bundlePath)) {
    throw new CustodyError('IO_ERROR', `${jp} belongs to another bundle (${j.bundle}); it was not applied`);
  }
  try {
    await fsp.rm(jp, { force: true });
    await fsyncDir(dir);
    await removeStaleTemps(bundlePath);
  } catch (e) {
    throw ioError(e, bundlePath);
  }
  return true;
}

export interface AppendMember {
  name: string;
  bytes: Uint8Array;
}

export interface AppendOptions {
  /** The end-of-data offset the caller saw when it verified the bundle: refuse if it moved since. */
  expectEndOfData?: number;
  mtime?: number;
}

export interface AppendResult {
  /** Where the first new member starts (the old end-of-data). */
  offset: number;
  /** Where the new end-of-archive marker starts. */
  endOfData: number;
}

/** Appends members (e.g. custody records) in place, crash-safely; see the protocol above. */
export async function appendMembers(bundlePath: string, members: AppendMember[], opts: AppendOptions = {}): Promise<AppendResult> {
  await recoverInterruptedAppend(bundlePath);
  const kill = killSwitch(ABORT_ENV);
  const jp = journalPathFor(bundlePath);
  const dir = path.dirname(bundlePath);
  const base = { custodyJournal: 1 as const, bundle: path.basename(bundlePath), pid: process.pid, host: os.hostname(), at: new Date().toISOString() };
  const tmp = `${jp}.${process.pid}.tmp`;
  try {
    await writeDurably(tmp, JSON.stringify({ ...base, phase: 'lock' }));
    kill.point();
    await linkOrCreate(tmp, jp, JSON.stringify({ ...base, phase: 'lock' }));
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CustodyError('IO_ERROR', `${bundlePath} is being appended to by another process`, { hint: 'wait for it to finish and retry' });
    }
    throw ioError(e, bundlePath);
  }
  await fsp.rm(tmp, { force: true });
  kill.point();

  let fh: FileHandle | undefined;
  let journal: Journal | undefined;
  try {
    fh = await fsp.open(bundlePath, 'r+');
    const { size } = await fh.stat();
    const located = await locateEndOfData(fh, size);
    if (opts.expectEndOfData !== undefined && opts.expectEndOfData !== located.endOfData) {
      throw new CustodyError('IO_ERROR', `${bundlePath} changed since it was verified (end of data at ${located.endOfData}, expected ${opts.expectEndOfData})`, {
        hint: 'run the command again',
      });
    }
    const bytes = encodeMembers(members, located.members, opts.mtime ?? 0);
    const j: Journal = { ...base, phase: 'append', size, endOfData: located.endOfData, tailSha256: await tailDigest(fh, located.endOfData) };
    await writeDurably(tmp, JSON.stringify(j));
    kill.point();
    await fsp.rename(tmp, jp);
    kill.point();
    await fsyncDir(dir);
    journal = j;
    kill.point();
    // Under the kill-test hook, write in small slices so kills land mid-header and mid-data.
    const slice = kill.active ? 400 : bytes.length;
    for (let at = 0; at < bytes.length; at += slice) {
      const n = Math.min(slice, bytes.length - at);
      await fh.write(bytes, at, n, located.endOfData + at);
      kill.point();
    }
    await fh.sync();
    kill.point();
    await fsp.rm(jp);
    kill.point();
    await fsyncDir(dir);
    return { offset: located.endOfData, endOfData: located.endOfData + bytes.length - END_OF_ARCHIVE.length };
  } catch (e) {
    // Undo now if we can (disk full, a refused name); if even that fails, the journal stays for recovery.
    try {
      if (journal && fh) await rollBack(fh, journal);
      await fsp.rm(tmp, { force: true });
      await fsp.rm(jp, { force: true });
      await fsyncDir(dir);
    } catch {
      // keep the original error; recovery will finish the job
    }
    throw ioError(e, bundlePath);
  } finally {
    await fh?.close();
  }
}

/** The new members as tar bytes, names checked against those already in the bundle, then the end blocks. */
function encodeMembers(members: AppendMember[], existing: { name: string; type: 'file' | 'dir' }[], mtime: number): Uint8Array {
  const names = new NameTracker();
  for (const e of existing) names.add(e.name, e.type);
  const parts = members.map((m) => {
    const name = checkMemberName(m.name, 'file');
    names.add(name, 'file');
    return encodeFileMember(encodeHeader({ name, type: 'file', size: m.bytes.length, mtime }), m.bytes);
  });
  return Buffer.concat([...parts, END_OF_ARCHIVE]);
}

/**
 * The bundle's bytes for reading. With an interrupted append's journal
 * present (a read-only medium, or another process appending right now) it
 * yields the bundle as it was before that append: the first end-of-data
 * bytes, then the zeros that followed them.
 */
export async function* bundleReadStream(bundlePath: string, chunkSize = 1 << 20): AsyncGenerator<Uint8Array> {
  const j = await readJournal(bundlePath);
  let dataEnd: number | undefined;
  let zeros = 0;
  if (j?.phase === 'append') {
    const fh = await openForReading(bundlePath);
    try {
      await assertMatches(j, fh, bundlePath);
    } finally {
      await fh.close();
    }
    dataEnd = j.endOfData!;
    zeros = j.size! - j.endOfData!;
  }
  const stream = fs.createReadStream(bundlePath, {
    highWaterMark: chunkSize,
    ...(dataEnd === undefined ? {} : { start: 0, end: dataEnd - 1 }),
  });
  try {
    if (dataEnd !== 0) for await (const chunk of stream) yield chunk as Buffer;
  } catch (e) {
    throw fromSystemError(e, bundlePath);
  } finally {
    stream.destroy();
  }
  for (; zeros > 0; zeros -= Math.min(zeros, chunkSize)) yield new Uint8Array(Math.min(zeros, chunkSize));
}
