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

async function createExclusive(root: string, rel: string): Promise<fsp.FileHandle> {
  const full = safeJoin(root, rel);
  await fsp.mkdir(path.dirname(full), { recursive: true, mode: 0o755 });
  try {
    return await fsp.open(full, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new CustodyError('UNSAFE_BUNDLE', `member ${rel} would overwrite a file already extracted`, { member: rel });
    throw e;
  }
}

async function writeAll(fh: fsp.FileHandle, chunk: Uint8Array): Promise<void> {
  let done = 0;
  while (done < chunk.length) done += (await fh.write(chunk, done, chunk.length - done)).bytesWritten;
}

/**
 * Writes every member under `root` (a folder the caller created, empty and
 * private). `names`: refuses, before writing it, a member the target file
 * system cannot hold beside the earlier ones (target-names.ts).
 */
export function directorySink(root: string, names?: TargetNameCheck): BundleSink {
  return {
    async beginPayload(rel, _size) {
      names?.add(rel);
      const fh = await createExclusive(root, rel);
      return {
        write: (chunk) => writeAll(fh, chunk),
        async end() {
          try {
            await fh.sync();
          } finally {
            await fh.close();
          }
        },
      };
    },
    async tagFile(rel, bytes) {
      names?.add(rel);
      const fh = await createExclusive(root, rel);
      try {
        await writeAll(fh, bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
    },
  };
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
    if (!Number.isNaN(t.getTime())) await fsp.utimes(at, t, t);
  }
  await fsp.chmod(root, 0o755);
}
