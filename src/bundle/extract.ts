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
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { CustodyError } from '../core/errors.js';
import type { CustodyManifest } from './custody-manifest.js';
import { componentProblem } from './layout.js';
import type { BundleSink } from './read-bundle.js';
import type { TargetNameCheck } from './target-names.js';

export function safeJoin(root: string, rel: string): string {
  const parts = rel.split('/');
  for (const c of parts) {
    const p = componentProblem(c);
    if (p) throw new CustodyError('UNSAFE_BUNDLE', `refusing to extract ${JSON.stringify(rel)}: it has ${p}`, { member: rel });
  }
  const full = path.join(root, ...parts);
  if (!full.startsWith(root + path.sep)) throw new CustodyError('UNSAFE_BUNDLE', `refusing to extract ${JSON.stringify(rel)}: outside the destination`, { member: rel });
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
 * A small file in one go on this thread (open, write, close): three round
 * trips through the libuv pool per file were most of extract's time on
 * exports of many small files.
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

/** Members up to this size are gathered and written at their end, synchronously. */
const SMALL_FILE = 256 << 10;

async function writeAll(fh: fsp.FileHandle, chunk: Uint8Array): Promise<void> {
  let done = 0;
  while (done < chunk.length) done += (await fh.write(chunk, done, chunk.length - done)).bytesWritten;
}

/**
 * Writes every member under `root` (a folder the caller created, empty and
 * private). `names`: refuses, before writing it, a member the target file
 * system cannot hold beside the earlier ones (target-names.ts).
 * Nothing is synced file by file (10,000 files made 10,014 fsyncs): the caller
 * makes the whole folder durable once, before renaming it into place
 * (syncTree).
 */
export function directorySink(root: string, names?: TargetNameCheck): BundleSink {
  const made: MadeDirs = new Set([root]);
  return {
    async beginPayload(rel, size) {
      names?.add(rel);
      if (size <= SMALL_FILE) {
        const whole = new Uint8Array(size);
        let at = 0;
        // Checked (and created) now, as a large member is: a refusal comes before its bytes are read.
        safeJoin(root, rel);
        return {
          write: async (chunk) => {
            whole.set(chunk, at);
            at += chunk.length;
          },
          end: async () => writeSmallExclusive(root, rel, whole.subarray(0, at), made),
        };
      }
      const fh = await createExclusive(root, rel, made);
      return {
        write: (chunk) => writeAll(fh, chunk),
        end: () => fh.close(),
      };
    },
    async tagFile(rel, bytes) {
      names?.add(rel);
      writeSmallExclusive(root, rel, bytes, made);
    },
  };
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
 */
async function restoreNameBytes(root: string, rel: string, item: string, hex: string): Promise<Buffer> {
  const from = safeJoin(root, rel);
  const itemDir = safeJoin(root, `data/${item}`);
  const to = Buffer.concat([Buffer.from(`${itemDir}/`), Buffer.from(hex, 'hex')]);
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

/** After a verified verdict: item folders, empty folders (through the same target check as files), file times as sealed. */
export async function finishExtraction(root: string, m: CustodyManifest, names?: TargetNameCheck): Promise<void> {
  for (const item of m.items) for (const d of item.emptyDirectories) names?.add(`data/${item.id}/${d}`);
  for (const item of m.items) {
    await fsp.mkdir(safeJoin(root, `data/${item.id}`), { recursive: true, mode: 0o755 });
    for (const d of item.emptyDirectories) await fsp.mkdir(safeJoin(root, `data/${item.id}/${d}`), { recursive: true, mode: 0o755 });
  }
  for (const f of m.files) {
    const at = f.nameBytes === undefined ? safeJoin(root, f.path) : await restoreNameBytes(root, f.path, f.item, f.nameBytes);
    const t = new Date(f.mtime);
    if (!Number.isNaN(t.getTime())) fs.utimesSync(at, t, t);
  }
  await fsp.chmod(root, 0o755);
  await syncTree(root);
}
