/**
 * Extract: a BundleSink that writes what verify reads into a fresh folder
 * (the caller's temporary folder beside the destination), and the finishing
 * touches once everything verified (file times from custody/manifest.json,
 * empty folders). The caller renames the folder into place only after a
 * verified verdict and removes it otherwise, so nothing unverified is ever
 * left at the destination.
 *
 * Threat: a hostile bundle steering writes outside the destination. Names
 * are already refused by the strict reader (`..`, absolute, backslashes,
 * duplicates after case folding) and by the member-order rules; here every
 * path is checked again component by component, must resolve inside the
 * root, and files are created with O_EXCL (never following a planted
 * symlink, never overwriting).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { CustodyError } from '../core/errors.js';
import type { CustodyManifest } from './custody-manifest.js';
import { componentProblem } from './layout.js';
import type { BundleSink, ReadBundle } from './read-bundle.js';
import { SmallFileWriter } from './extract-writer.js';
import type { TargetNameCheck } from './target-names.js';
import { mark } from '../core/timeline.js';

function unsafe(rel: string, why: string): CustodyError {
  return new CustodyError('UNSAFE_BUNDLE', `refusing to extract ${JSON.stringify(rel)}: ${why}`, { member: rel });
}

/**
 * Folders whose components passed, and the root's joined form: members come
 * folder by folder, and extract joins each path two or three times (to write
 * it, to set its time, to restore its name), so a folder's components are
 * checked once in a row, and a path is joined as its checked text after the
 * root's (on POSIX, where the path separator is the '/' of member names).
 */
let checkedFolder = '';
let joinedRoot: { root: string; prefix: string } | undefined;

export function safeJoin(root: string, rel: string): string {
  const slash = rel.lastIndexOf('/');
  const folder = rel.slice(0, slash + 1);
  if (folder !== checkedFolder) {
    if (slash >= 0) {
      for (const c of rel.slice(0, slash).split('/')) {
        const p = componentProblem(c);
        if (p) throw unsafe(rel, `it has ${p}`);
      }
    }
    checkedFolder = folder;
  }
  const p = componentProblem(rel.slice(slash + 1));
  if (p) throw unsafe(rel, `it has ${p}`);
  let full: string;
  if (path.sep === '/') {
    // path.join normalises the root and keeps the checked components as they are: its join of the root
    // with one plain name, less that name, is what it puts before any checked path.
    if (joinedRoot?.root !== root) joinedRoot = { root, prefix: path.join(root, 'x').slice(0, -1) };
    full = joinedRoot.prefix + rel;
  } else {
    full = path.join(root, ...rel.split('/'));
  }
  if (!full.startsWith(root + path.sep)) throw unsafe(rel, 'outside the destination');
  return full;
}

const CREATE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;

/** Folders already made under the root: one mkdir per folder, not one per file. */
type MadeDirs = Set<string>;

function makeParent(full: string, made: MadeDirs): void {
  const dir = path.dirname(full);
  if (made.has(dir)) return;
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  made.add(dir);
}

function overwriting(e: unknown, rel: string): unknown {
  if ((e as NodeJS.ErrnoException).code === 'EEXIST') return new CustodyError('UNSAFE_BUNDLE', `member ${rel} would overwrite a file already extracted`, { member: rel });
  return e;
}

async function createExclusive(root: string, rel: string, made: MadeDirs): Promise<fsp.FileHandle> {
  const full = safeJoin(root, rel);
  makeParent(full, made);
  try {
    return await fsp.open(full, CREATE, 0o644);
  } catch (e) {
    throw overwriting(e, rel);
  }
}

/**
 * A tag file in one go on this thread (open, write, close): three round
 * trips through the libuv pool per file cost more than the writing.
 */
function writeSmallExclusive(root: string, rel: string, bytes: Uint8Array, made: MadeDirs): void {
  const full = safeJoin(root, rel);
  makeParent(full, made);
  let fd: number;
  try {
    fd = fs.openSync(full, CREATE, 0o644);
  } catch (e) {
    throw overwriting(e, rel);
  }
  try {
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
  } finally {
    fs.closeSync(fd);
  }
}

/** Members up to this size are gathered and written in batches on the writer thread (extract-writer.ts). */
const SMALL_FILE = 256 << 10;

async function writeAll(fh: fsp.FileHandle, chunk: Uint8Array): Promise<void> {
  let done = 0;
  while (done < chunk.length) done += (await fh.write(chunk, done, chunk.length - done)).bytesWritten;
}

/**
 * Writes every member under `root` (a folder the caller created, empty and
 * private). `names`: refuses, before writing it, a member the target file
 * system cannot hold beside the earlier ones, or gives it the safe name it
 * is written under (target-names.ts).
 * Nothing is synced file by file (10,000 files made 10,014 fsyncs): the caller
 * makes the whole folder durable once, before renaming it into place
 * (syncTree).
 */
export interface DirectorySink extends BundleSink {
  /** Every payload file given so far is on disk (small files are written on a worker thread: extract-writer.ts), with its time where fileTimesSet says. */
  drain(): Promise<void>;
  /**
   * Every payload file's time (fileTime) went to the writer thread, which
   * sets it once the file is written: finishExtraction need not. Only where
   * that thread exists already (small files were written): a bundle of a few
   * large files does not start one for a few times.
   */
  fileTimesSet(): boolean;
  /** Stops the writer thread; call before removing `root`, also after a failure. */
  close(): Promise<void>;
}

export function directorySink(root: string, names?: TargetNameCheck): DirectorySink {
  const made: MadeDirs = new Set([root]);
  let writer: SmallFileWriter | undefined;
  let tagsBegun = false;
  /** Decided at the first time given: the writer thread sets them all, or finishExtraction does. */
  let times: 'undecided' | 'writer' | 'finish' = 'undecided';
  /** Times given and not yet handed to the writer: member index and ms, as numbers (paths are made only to be sent). */
  let pendingMembers: number[] = [];
  let pendingMs: number[] = [];
  const earlySync = startEarlySync(root);
  return {
    async beginPayload(rel, size) {
      // The big tag files stream through here too, after the payload (the reader checks the order).
      if (!tagsBegun && !rel.startsWith('data/')) {
        tagsBegun = true;
        mark('extract: payload read, tag files begin');
        earlySync?.stdin?.end('go\n');
      }
      const target = names?.add(rel) ?? rel;
      if (size <= SMALL_FILE) {
        // Checked now, as a large member is: a refusal comes before its bytes are read. Created by the writer thread.
        const full = safeJoin(root, target);
        writer ??= new SmallFileWriter(
          (member) => overwriting(Object.assign(new Error('exists'), { code: 'EEXIST' }), member),
          (full) => path.relative(root, full).split(path.sep).join('/'),
        );
        const file = await writer.begin(full, target, size);
        return {
          write: async (chunk) => file.write(chunk),
          end: () => file.end(),
        };
      }
      const fh = await createExclusive(root, target, made);
      return {
        write: (chunk) => writeAll(fh, chunk),
        end: () => fh.close(),
      };
    },
    async tagFile(rel, bytes) {
      writeSmallExclusive(root, names?.add(rel) ?? rel, bytes, made);
    },
    fileTime(member, mtimeMs) {
      if (times === 'undecided') times = writer ? 'writer' : 'finish';
      if (times !== 'writer') return false;
      pendingMembers.push(member);
      pendingMs.push(mtimeMs);
      return true;
    },
    async flushTimes(nameOf) {
      if (times !== 'writer' || pendingMembers.length === 0) return;
      const [members, ms] = [pendingMembers, pendingMs];
      [pendingMembers, pendingMs] = [[], []];
      for (let k = 0; k < members.length; k++) {
        const rel = nameOf(members[k]!);
        // The path the member was written under (renamed for the target, or escaped and restored later: a rename keeps the time).
        writer!.setTime(safeJoin(root, names?.writtenPath(rel) ?? rel), ms[k]! / 1000);
      }
      await writer!.flushTimes();
    },
    fileTimesSet: () => times === 'writer',
    drain: async () => writer?.drain(),
    close: async () => {
      if (earlySync && earlySync.exitCode === null && earlySync.signalCode === null) earlySync.kill();
      await writer?.close();
    },
  };
}

/**
 * A `sync -f` of the folder's file system, run once the payload is written
 * (a line on its standard input): the tag files take a second or more to
 * check, and the data written by then goes to the disk meanwhile, so that the
 * sync before the rename (syncTree) has little left to wait for. Only a head
 * start: syncTree is what makes the folder durable. The process is started
 * here, while this one is small: forked later from a heap of 100+ MB, every
 * page this process then writes is copied once (copy-on-write), which cost
 * the check of the tag files more than the sync saved. Extract of 50,000
 * small files onto ext4: the final sync 0.44–0.52 s → 0.08–0.09 s, the whole
 * extract −0.42 s on average over 4 interleaved rounds. Where `sh` or `sync`
 * is missing nothing happens; a run that ends before the payload is written
 * ends the process (close(), or its input reaching end of file: `read` fails).
 */
function startEarlySync(root: string): ChildProcess | undefined {
  try {
    const child = spawn('sh', ['-c', 'read go && exec sync -f -- "$0"', root], { stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', () => {});
    child.on('exit', () => mark('extract: early sync done'));
    child.stdin?.on('error', () => {});
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return child;
  } catch {
    return undefined;
  }
}

/**
 * Makes everything under `root` durable before it is renamed into place:
 * one syncfs of its file system (coreutils `sync -f`), or, where that is
 * missing, an fsync of every file and then every folder, many at a time.
 */
export async function syncTree(root: string): Promise<void> {
  const r = spawnSync('sync', ['-f', root], { stdio: 'ignore' });
  if (r.status === 0) return;
  const files: string[] = [];
  const dirs: string[] = [];
  const walk = (d: string): void => {
    dirs.push(d);
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(root);
  const fsyncAll = async (list: string[], flags: number): Promise<void> => {
    for (let i = 0; i < list.length; i += 64) {
      await Promise.all(
        list.slice(i, i + 64).map(async (p) => {
          const fh = await fsp.open(p, flags);
          try {
            await fh.sync();
          } finally {
            await fh.close();
          }
        }),
      );
    }
  };
  await fsyncAll(files, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  await fsyncAll(dirs.reverse(), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
}

/**
 * A file sealed under an escaped name (its name was not valid UTF-8) goes
 * back under its original bytes, from custody/manifest.json (whose parser
 * checked that they escape to exactly the sealed path, so they hold no '/',
 * '..' or NUL the sealed name did not). Escaped folders left empty are removed.
 * Empty folders sealed escaped are created under their original bytes directly.
 */
function originalPath(root: string, item: string, hex: string): Buffer {
  return Buffer.concat([Buffer.from(`${safeJoin(root, `data/${item}`)}/`), Buffer.from(hex, 'hex')]);
}

async function restoreNameBytes(root: string, rel: string, item: string, hex: string): Promise<Buffer> {
  const from = safeJoin(root, rel);
  const itemDir = safeJoin(root, `data/${item}`);
  const to = originalPath(root, item, hex);
  const slash = to.lastIndexOf(0x2f);
  await fsp.mkdir(to.subarray(0, slash), { recursive: true, mode: 0o755 });
  await fsp.rename(from, to);
  for (let d = path.dirname(from); d.startsWith(`${itemDir}${path.sep}`); d = path.dirname(d)) {
    try {
      await fsp.rmdir(d);
    } catch {
      break; // not empty: it still holds other members
    }
  }
  return to;
}

/** A payload member written under another name than its own (listed in the mapping file, never silent). */
export interface RenamedMember {
  /** The payload path as sealed (custody/manifest.json). */
  path: string;
  /** Hex of the original name bytes inside the item, where they differ from the sealed path (not valid UTF-8). */
  nameBytes?: string;
  /** Where it is in the extracted folder, relative to it. */
  written: string;
  kind: 'file' | 'folder';
  why: string;
}

const NOT_UTF8 = 'its name is not valid UTF-8 and this file system holds only UTF-8 names (written under the escaped name it was sealed as)';

/** Empty folders as payload paths, with their original name bytes where they were sealed escaped. */
function emptyFolders(m: CustodyManifest): { item: string; path: string; nameBytes?: string }[] {
  return m.items.flatMap((item) => {
    const bytes = new Map((item.emptyDirectoryMarks ?? []).filter((k) => k.nameBytes !== undefined).map((k) => [k.path, k.nameBytes!]));
    return item.emptyDirectories.map((d) => ({ item: item.id, path: `data/${item.id}/${d}`, ...(bytes.has(d) ? { nameBytes: bytes.get(d)! } : {}) }));
  });
}

/** Payload entries whose original name bytes differ from their sealed path: files and empty folders. */
function escapedEntries(m: CustodyManifest): { path: string; nameBytes: string }[] {
  return [...m.files, ...emptyFolders(m)].filter((f) => f.nameBytes !== undefined).map((f) => ({ path: f.path, nameBytes: f.nameBytes! }));
}

/**
 * On a target that holds only UTF-8 names a name sealed escaped cannot get
 * its bytes back: refused (naming it) unless renaming was asked for.
 */
export function assertNameBytesHold(m: CustodyManifest, names: TargetNameCheck | undefined): void {
  if (!names?.profile.utf8Names || names.mode === 'rename') return;
  const first = escapedEntries(m)[0];
  if (first === undefined) return;
  throw new CustodyError(
    'USAGE',
    `cannot extract into ${names.dest}: the original name of ${JSON.stringify(first.path)} is not valid UTF-8, which its file system cannot hold; nothing was written to ${names.dest}`,
    { member: first.path, hint: 'extract onto a file system that holds any name bytes (ext4, XFS), or add --rename-unportable to keep the escaped name, listed in a mapping file' },
  );
}

/** What finishing needs of each payload file, in member order: its path, item, time (ms; NaN: none) and original name bytes. */
export interface FileTimes {
  count: number;
  path(i: number): string;
  item(i: number): string;
  mtime(i: number): number;
  nameBytes(i: number): string | undefined;
  /** Some file has original name bytes. */
  anyNameBytes: boolean;
}

function manifestFiles(m: CustodyManifest): FileTimes {
  const f = m.files;
  return {
    count: f.length,
    path: (i) => f[i]!.path,
    item: (i) => f[i]!.item,
    mtime: (i) => new Date(f[i]!.mtime).getTime(),
    nameBytes: (i) => f[i]!.nameBytes,
    anyNameBytes: f.some((x) => x.nameBytes !== undefined),
  };
}

/**
 * The file times of a bundle read with keepFiles 'times': a verified
 * verdict's custody/manifest.json lists the payload members in member order
 * (custody.manifest fails otherwise), so element i is payload member i.
 * A time the sink kept (its writer thread sets it) reads as NaN here.
 */
export function fileTimes(r: ReadBundle): FileTimes {
  const t = r.table;
  const c = r.streamed.custody;
  const mtimes = c.mtimes;
  return { count: t.count, path: (i) => t.name(i), item: (i) => t.item(i), mtime: (i) => mtimes?.[i] ?? Number.NaN, nameBytes: (i) => c.nameBytes.get(i), anyNameBytes: c.nameBytes.size > 0 };
}

/**
 * After a verified verdict: item folders, empty folders (through the same
 * target check as files), original name bytes, file times as sealed (unless
 * `timesSet`: the sink's writer thread set them as custody/manifest.json was read).
 * Returns every payload member written under another name.
 */
export async function finishExtraction(root: string, m: CustodyManifest, names?: TargetNameCheck, files?: FileTimes, timesSet = false): Promise<RenamedMember[]> {
  const dirs = emptyFolders(m);
  for (const d of dirs) names?.add(d.path);
  assertNameBytesHold(m, names);
  const renamed: RenamedMember[] = [];
  const keepEscaped = names?.profile.utf8Names === true;
  /** Where a member goes: its written path, or its original bytes where it has them and nothing above it was renamed. */
  const place = (rel: string, kind: RenamedMember['kind'], nameBytes: string | undefined): { written: string; restore: boolean } => {
    const written = names?.writtenPath(rel) ?? rel;
    const why = names?.renamedBecause(rel) ?? (nameBytes !== undefined && keepEscaped ? NOT_UTF8 : undefined);
    if (why !== undefined) renamed.push({ path: rel, ...(nameBytes === undefined ? {} : { nameBytes }), written, kind, why });
    return { written, restore: nameBytes !== undefined && why === undefined };
  };
  // An item folder the target cannot hold (an item id like con.dd on Windows) is renamed with everything in it.
  for (const item of m.items) await fsp.mkdir(safeJoin(root, names?.add(`data/${item.id}`) ?? `data/${item.id}`), { recursive: true, mode: 0o755 });
  for (const d of dirs) {
    const { written, restore } = place(d.path, 'folder', d.nameBytes);
    await fsp.mkdir(restore ? originalPath(root, d.item, d.nameBytes!) : safeJoin(root, written), { recursive: true, mode: 0o755 });
  }
  const list = files ?? manifestFiles(m);
  // Where the writer thread set every file's time, no name is restored to its original bytes and none was renamed,
  // each file is as it should be already: the walk below would only decode a million names to find that out.
  const perFile = !timesSet || list.anyNameBytes || names?.renamedAny === true;
  for (let i = 0; perFile && i < list.count; i++) {
    const rel = list.path(i);
    const nameBytes = list.nameBytes(i);
    const { written, restore } = place(rel, 'file', nameBytes);
    const at = restore ? await restoreNameBytes(root, rel, list.item(i), nameBytes!) : timesSet ? undefined : safeJoin(root, written);
    const t = list.mtime(i);
    if (at !== undefined && !timesSet && !Number.isNaN(t)) fs.utimesSync(at, t / 1000, t / 1000);
  }
  mark('extract: file times set');
  await fsp.chmod(root, 0o755);
  await syncTree(root);
  mark('extract: synced');
  return renamed;
}
