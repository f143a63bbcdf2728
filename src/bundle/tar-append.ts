/**
 * Crash-safe append of members to a bundle (DESIGN §3): new members
 * overwrite the old end-of-archive blocks; nothing before them is rewritten.
 *
 * Threats: (1) an append killed at any instant (kill -9, power loss, disk
 * full) must not leave a bundle that fails verification; (2) two appenders
 * at once, even through two names (hard links) of one file, must not both
 * write at the same offset — one record would be lost; (3) a journal file
 * placed beside a bundle by someone else (it can travel on the courier's
 * medium) must never make custody truncate or rewrite the bundle.
 *
 * Protocol:
 *   1. lock by file identity: `.custody-lock.<dev>.<ino>` beside the bundle,
 *      hard-linked into place from a complete temp file (fails if it exists:
 *      a second appender through any name in that folder is refused);
 *   2. under the lock: recover an interrupted append of our own (below), find
 *      the end-of-data offset (header walk), then write the journal
 *      `<bundle>.custody-journal` (temp, fsync, rename, fsync dir): the old
 *      size, the end-of-data offset, the SHA-256 of up to 64 KiB before it,
 *      the file's device and inode, and the length and SHA-256 of what is
 *      about to be appended;
 *   3. write the members and new end blocks at end-of-data; fsync;
 *   4. remove the journal; fsync the dir; re-read the headers to confirm our
 *      members are the last ones; release the lock.
 * Recovery runs only in commands that append, under the lock, and only for a
 * journal proven to be custody's own for this very file: same device and
 * inode (a journal copied or planted beside another file never matches),
 * the same bytes before end-of-data, end-of-data on a member boundary of a
 * complete prefix, and a file no longer than the old size or the old data
 * plus the recorded append. It truncates to end-of-data and rewrites the
 * old tail (all zeros by the strict format): the bundle is byte-for-byte what
 * it was. Read-only commands (verify, log, extract, report) never write:
 * with a journal of ours present they read that same old view and say so
 * (inspectJournal + bundleReadStream); a journal that is not ours is ignored
 * and reported, never applied.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CustodyError, fromSystemError } from '../core/errors.js';
import { END_OF_ARCHIVE, encodeHeader } from './tar-header.js';
import { locateEndOfData, preadAt, takeWalkNames, type LocatedEnd } from './tar-locate.js';
import { NameTracker, checkMemberName } from './tar-names.js';
import { encodeFileMember } from './tar-writer.js';
import { openForReading } from '../core/open-file.js';
import { onInterrupt } from './temp-files.js';

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
/** Test hook: the signal the abort points above send (default SIGKILL). */
export const ABORT_SIGNAL_ENV = 'CUSTODY_TEST_APPEND_ABORT_SIGNAL';

interface Journal {
  custodyJournal: 1;
  /** 'lock' only in journals of older versions, which locked by path. */
  phase: 'lock' | 'append';
  bundle: string;
  pid: number;
  host: string;
  at: string;
  size?: number;
  endOfData?: number;
  tailSha256?: string;
  /** The bundle's device and inode (decimal strings) when the append began. */
  dev?: string;
  ino?: string;
  appendLength?: number;
  appendSha256?: string;
}

export function journalPathFor(bundlePath: string): string {
  return `${bundlePath}${JOURNAL_SUFFIX}`;
}

const LOCK_PREFIX = '.custody-lock.';

export interface KillSwitch {
  active: boolean;
  point(): void;
}

function killSwitch(env: string): KillSwitch {
  const target = Number(process.env[env] ?? 0);
  let step = 0;
  return {
    active: target > 0,
    point() {
      // SIGKILL by default (a crash); the interrupt tests send a catchable signal here instead.
      if (target > 0 && ++step === target) process.kill(process.pid, (process.env[ABORT_SIGNAL_ENV] as NodeJS.Signals | undefined) ?? 'SIGKILL');
    },
  };
}

const NO_KILL: KillSwitch = { active: false, point() {} };
/** One counter per process for the append steps (lock, journal, writes), so the kill tests can name each step. */
let appendKill: KillSwitch | undefined;
export const appendKillSwitch = (): KillSwitch => (appendKill ??= killSwitch(ABORT_ENV));

const CHANGING = 'another custody command is changing this bundle';

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

async function identityOf(file: string): Promise<{ dev: string; ino: string }> {
  const st = await fsp.stat(file, { bigint: true });
  return { dev: String(st.dev), ino: String(st.ino) };
}

export interface BundleLock {
  release(): Promise<void>;
}

/**
 * Takes the append lock of the file at `bundlePath`, by identity: every name
 * of the file in its folder (hard links) maps to the same lock. A lock left
 * by a dead process of this host is taken over.
 */
export async function lockBundle(bundlePath: string, kill: KillSwitch = NO_KILL): Promise<BundleLock> {
  let id: { dev: string; ino: string };
  try {
    id = await identityOf(bundlePath);
  } catch (e) {
    throw ioError(e, bundlePath);
  }
  const lp = path.join(path.dirname(bundlePath), `${LOCK_PREFIX}${id.dev}.${id.ino}`);
  // pid (so a dead holder's temp can be recognised) and a random part (two appends in one process must not share it)
  const tmp = `${lp}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  const text = JSON.stringify({ custodyLock: 1, bundle: path.basename(bundlePath), pid: process.pid, host: os.hostname(), at: new Date().toISOString() });
  // A signal (Ctrl-C, SIGTERM, SIGHUP) removes the lock temp, and the lock if it names this process (the journal
  // stays: the next run recovers from it). Checked by content, not by a flag set after the link: the signal may be
  // handled between the link and its continuation, and a lock another process holds must never be removed.
  const ours = (): boolean => {
    try {
      const held = JSON.parse(fs.readFileSync(lp, 'utf8')) as { pid?: unknown; host?: unknown };
      return held.pid === process.pid && held.host === os.hostname();
    } catch {
      return false;
    }
  };
  const forget = onInterrupt(() => {
    const had = fs.existsSync(tmp);
    fs.rmSync(tmp, { force: true });
    if (!ours()) return had;
    fs.rmSync(lp, { force: true });
    return true;
  });
  try {
    await writeDurably(tmp, text);
    kill.point();
    for (let attempt = 0; ; attempt++) {
      try {
        await linkOrCreate(tmp, lp, text);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
        const holder = (await fsp.readFile(lp, 'utf8').then((t) => JSON.parse(t) as { pid?: unknown; host?: unknown }).catch(() => ({}))) as { pid?: unknown; host?: unknown };
        const live = holder.host !== os.hostname() || typeof holder.pid !== 'number' || processAlive(holder.pid);
        if (live) {
          const who = typeof holder.pid === 'number' ? ` (process ${holder.pid}${holder.host === os.hostname() ? '' : ` on ${String(holder.host)}`})` : '';
          throw new CustodyError('IO_ERROR', `${bundlePath}: ${CHANGING}${who}`, { hint: `wait for it to finish and retry; if no custody process is running, remove ${lp}` });
        }
        await fsp.rm(lp, { force: true }); // its holder died: take it over
      }
    }
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    forget();
    throw ioError(e, bundlePath);
  }
  await fsp.rm(tmp, { force: true });
  kill.point();
  return {
    release: async () => {
      await fsp.rm(lp, { force: true });
      forget();
    },
  };
}

/** Runs `fn` holding the bundle's append lock. */
export async function withBundleLock<T>(bundlePath: string, fn: (lock: BundleLock) => Promise<T>, kill: KillSwitch = NO_KILL): Promise<T> {
  const lock = await lockBundle(bundlePath, kill);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
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

/**
 * Why an "append" journal is not custody's own record of an append to this
 * very file, or undefined when it is: same name, device and inode, the same
 * bytes before end-of-data, a file no longer than the old one or the old data
 * plus the recorded append, and end-of-data on a member boundary.
 */
async function journalMismatch(j: Journal, fh: FileHandle, bundlePath: string): Promise<string | undefined> {
  const st = await fh.stat({ bigint: true });
  const size = Number(st.size);
  if (j.bundle !== path.basename(bundlePath)) return `it names another file (${String(j.bundle)})`;
  if (j.dev !== String(st.dev) || j.ino !== String(st.ino)) return 'it was written for another file (device and inode differ: a copy, or a journal from elsewhere)';
  const numbers = [j.endOfData, j.size, j.appendLength];
  if (!numbers.every((n) => Number.isSafeInteger(n) && n! >= 0) || typeof j.appendSha256 !== 'string') return 'it is incomplete';
  if (j.size! < j.endOfData! || size < j.endOfData!) return 'its offsets do not fit the file';
  // An append never shrinks the file: a larger old size is only an interrupted rollback, which restores a short zero tail.
  if (j.size! > Math.max(size, j.endOfData! + MAX_RESTORED_ZEROS)) return 'its old size is far beyond the file';
  if (size > Math.max(j.size!, j.endOfData! + j.appendLength!)) return 'the file is longer than the append it records could have made it';
  if ((await tailDigest(fh, j.endOfData!)) !== j.tailSha256) return 'the bytes before its end-of-data offset differ';
  try {
    await locateEndOfData(fh, size, { stopAt: j.endOfData! });
  } catch (e) {
    return `its end-of-data offset is not the end of a complete bundle (${(e as Error).message})`;
  }
  return undefined;
}

async function assertMatches(j: Journal, fh: FileHandle, bundlePath: string): Promise<void> {
  const why = await journalMismatch(j, fh, bundlePath);
  if (why !== undefined) {
    throw new CustodyError('IO_ERROR', `${journalPathFor(bundlePath)} does not match ${bundlePath}: ${why}; it was not applied`, {
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

/** Temp files of journals and locks left by a process that died before it could remove them. */
async function removeStaleTemps(bundlePath: string): Promise<void> {
  const dir = path.dirname(bundlePath);
  const journalPrefix = `${path.basename(journalPathFor(bundlePath))}.`;
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    const rest = name.startsWith(journalPrefix) ? name.slice(journalPrefix.length) : name.startsWith(LOCK_PREFIX) ? name.replace(/^\.custody-lock\.\d+\.\d+\./, '') : undefined;
    const m = rest === undefined ? null : /^(\d+)(?:-[0-9a-f]+)?\.tmp$/.exec(rest);
    // Only a dead process's temps: another append of this very process may be using its own right now.
    if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) await fsp.rm(path.join(dir, name), { force: true });
  }
}

/**
 * Undoes an interrupted append of custody's own, if there is one; only for
 * commands that append (verify and the other readers use inspectJournal).
 * Returns true when it repaired or cleaned something; false when there was
 * nothing to do or the bundle cannot be written (read-only medium: use
 * bundleReadStream). Throws IO_ERROR for a journal held by a live process or
 * one that is not custody's own record of an append to this file.
 */
export async function recoverInterruptedAppend(bundlePath: string): Promise<boolean> {
  try {
    return await withBundleLock(bundlePath, () => recoverLocked(bundlePath));
  } catch (e) {
    // A bundle we may not write to cannot be locked either: nothing to repair here.
    if (['EROFS', 'EACCES', 'EPERM'].includes(errnoOf(e))) return false;
    throw e;
  }
}

function errnoOf(e: unknown): string {
  const c = (e as { cause?: NodeJS.ErrnoException }).cause ?? (e as NodeJS.ErrnoException);
  return c?.code ?? '';
}

/** recoverInterruptedAppend for a caller that holds the lock. */
export async function recoverLocked(bundlePath: string): Promise<boolean> {
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
  /** The lock, when the caller already holds it (it read the chain under it). */
  lock?: BundleLock;
  /**
   * The header walk the caller made under that same lock (with `lock` only):
   * not walked again. Refused if the file's size changed since.
   */
  located?: LocatedEnd;
  /**
   * A header walk made WITHOUT the lock (receive reads the chain before it
   * hashes the evidence), and the file it walked. Used, not walked again,
   * only if under the lock nothing can have changed since: no interrupted
   * append was recovered, the same file (device, inode) and size, and still
   * nothing but zeros from its end of data to the end of the file (where
   * every append writes). Otherwise the headers are walked as usual.
   */
  walkedBefore?: { located: LocatedEnd; dev: bigint; ino: bigint };
}

export interface AppendResult {
  /** Where the first new member starts (the old end-of-data). */
  offset: number;
  /** Where the new end-of-archive marker starts. */
  endOfData: number;
}

/** Appends members (e.g. custody records) in place, crash-safely; see the protocol above. */
export async function appendMembers(bundlePath: string, members: AppendMember[], opts: AppendOptions = {}): Promise<AppendResult> {
  const kill = appendKillSwitch();
  if (!opts.lock) return withBundleLock(bundlePath, (lock) => appendMembers(bundlePath, members, { ...opts, lock }), kill);
  const recovered = await recoverLocked(bundlePath);
  const jp = journalPathFor(bundlePath);
  const dir = path.dirname(bundlePath);
  const base = { custodyJournal: 1 as const, bundle: path.basename(bundlePath), pid: process.pid, host: os.hostname(), at: new Date().toISOString() };
  const tmp = `${jp}.${process.pid}.tmp`;

  let fh: FileHandle | undefined;
  let journal: Journal | undefined;
  try {
    fh = await fsp.open(bundlePath, 'r+');
    const st = await fh.stat({ bigint: true });
    const size = Number(st.size);
    // A walk made under the lock we hold still describes the file (recovery above changed nothing, or its size).
    let located =
      opts.located && opts.lock && opts.located.size === size
        ? opts.located
        : !recovered && opts.walkedBefore && (await stillDescribes(fh, st, opts.walkedBefore))
          ? opts.walkedBefore.located
          : await locateEndOfData(fh, size);
    let names = takeWalkNames(located);
    // A walk that listed only some members, whose names were taken already: the names are tracked by a walk of all.
    if (!names && located.partial) {
      located = await locateEndOfData(fh, size);
      names = takeWalkNames(located);
    }
    if (opts.expectEndOfData !== undefined && opts.expectEndOfData !== located.endOfData) {
      throw new CustodyError('IO_ERROR', `${bundlePath} changed since it was read (end of data at ${located.endOfData}, expected ${opts.expectEndOfData}): ${CHANGING}, or did`, {
        hint: 'run the command again',
      });
    }
    const bytes = encodeMembers(members, located, names, opts.mtime ?? 0);
    const j: Journal = {
      ...base,
      phase: 'append',
      size,
      endOfData: located.endOfData,
      tailSha256: await tailDigest(fh, located.endOfData),
      dev: String(st.dev),
      ino: String(st.ino),
      appendLength: bytes.length,
      appendSha256: createHash('sha256').update(bytes).digest('hex'),
    };
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
    journal = undefined; // the append is durable and complete: nothing to undo from here on
    kill.point();
    await fsyncDir(dir);
    // Re-read what we wrote: our members must be the last ones, ending where we ended them, nothing but zeros
    // after them (a writer that bypassed the lock would show here). The members before them were walked above.
    const endOfData = located.endOfData + bytes.length - END_OF_ARCHIVE.length;
    const after = await locateEndOfData(fh, Number((await fh.stat()).size), { from: located.endOfData }).catch(() => undefined);
    const tail = after?.members.map((m) => m.name);
    if (!after || after.endOfData !== endOfData || tail?.join('\0') !== members.map((m) => m.name).join('\0')) {
      throw new CustodyError('IO_ERROR', `${bundlePath}: ${CHANGING} (the members just appended are not where they were written)`, {
        hint: 'make sure only one custody command at a time works on a bundle, then verify it',
      });
    }
    return { offset: located.endOfData, endOfData };
  } catch (e) {
    // Undo now if we can (disk full, a refused name); if even that fails, the journal stays for recovery.
    try {
      if (journal && fh) {
        await rollBack(fh, journal);
        await fsp.rm(jp, { force: true });
      }
      await fsp.rm(tmp, { force: true });
      await fsyncDir(dir);
    } catch {
      // keep the original error; recovery will finish the job
    }
    throw ioError(e, bundlePath);
  } finally {
    await fh?.close();
  }
}

/** Whether a walk made before the lock was taken still describes the file (see AppendOptions.walkedBefore). */
async function stillDescribes(fh: FileHandle, st: fs.BigIntStats, w: { located: LocatedEnd; dev: bigint; ino: bigint }): Promise<boolean> {
  const { endOfData, size } = w.located;
  if (st.dev !== w.dev || st.ino !== w.ino || Number(st.size) !== size || size - endOfData > 1 << 20) return false;
  const tail = await preadAt(fh, size - endOfData, endOfData);
  return tail.length === size - endOfData && tail.every((b) => b === 0);
}

/** The new members as tar bytes, names checked against those already in the bundle, then the end blocks. */
function encodeMembers(members: AppendMember[], located: LocatedEnd, walkNames: NameTracker | undefined, mtime: number): Uint8Array {
  // The names the walk tracked (all of them, as adding them again here would), or tracked again.
  let names = walkNames;
  if (!names) {
    names = new NameTracker();
    for (const e of located.members) names.add(e.name, e.type);
  }
  const parts = members.map((m) => {
    const name = checkMemberName(m.name, 'file');
    names.add(name, 'file');
    return encodeFileMember(encodeHeader({ name, type: 'file', size: m.bytes.length, mtime }), m.bytes);
  });
  return Buffer.concat([...parts, END_OF_ARCHIVE]);
}

export type JournalState =
  | { state: 'none' }
  /** custody's own journal of an interrupted (or running) append: the bundle as it was ends at endOfData. */
  | { state: 'pending'; journal: string; endOfData: number; size: number }
  /** a file by that name that is not custody's record of an append to this file: ignored, never applied. */
  | { state: 'foreign'; journal: string; why: string };

/** What a read-only command should make of a journal beside the bundle. Never writes. */
export async function inspectJournal(bundlePath: string): Promise<JournalState> {
  const jp = journalPathFor(bundlePath);
  let j: Journal | undefined;
  try {
    j = await readJournal(bundlePath);
  } catch (e) {
    return { state: 'foreign', journal: jp, why: (e as Error).message };
  }
  if (!j) return { state: 'none' };
  if (j.phase !== 'append') return { state: 'none' }; // an older version's lock: nothing was written yet
  const fh = await openForReading(bundlePath);
  try {
    const why = await journalMismatch(j, fh, bundlePath);
    if (why !== undefined) return { state: 'foreign', journal: jp, why };
  } finally {
    await fh.close();
  }
  return { state: 'pending', journal: jp, endOfData: j.endOfData!, size: j.size! };
}

/**
 * The bundle's bytes for reading. With custody's own journal of an
 * interrupted append present (a read-only medium, or another process
 * appending right now) it yields the bundle as it was before that append:
 * the first end-of-data bytes, then the zeros that followed them. Anything
 * else is read as it is.
 */
export async function* bundleReadStream(bundlePath: string, chunkSize = 1 << 20, journal?: JournalState): AsyncGenerator<Uint8Array> {
  const j = journal ?? (await inspectJournal(bundlePath));
  let dataEnd: number | undefined;
  let zeros = 0;
  if (j.state === 'pending') {
    dataEnd = j.endOfData;
    zeros = j.size - j.endOfData;
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
