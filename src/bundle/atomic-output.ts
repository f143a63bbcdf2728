/**
 * Writes an output file or folder under a temporary name beside its final
 * place, then renames it there. Guards against a half-written bundle (crash,
 * disk full, a file that changed size while sealing) being taken for a
 * complete one: until the rename, nothing exists at the final path; on
 * failure the temporary is removed.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { CustodyError } from '../core/errors.js';
import { sweepStaleTemps, tempNameBeside, trackTemp, untrackTemp } from './temp-files.js';

export { tempNameBeside } from './temp-files.js';

async function fsyncDir(dir: string): Promise<void> {
  // Makes the rename itself durable. Some file systems refuse fsync on a directory: not fatal.
  try {
    const fh = await fsp.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* best effort */
  }
}

/** NOT_FOUND (exit 2): `what` cannot be written because its folder does not exist. */
export function folderMissing(what: string, cause?: unknown): CustodyError {
  return new CustodyError('NOT_FOUND', `cannot write ${what}: its folder does not exist`, cause === undefined ? {} : { cause });
}

/** The one wording of a failed write: a missing folder is the user's mistake (exit 2), anything else I/O (exit 3). */
export function writeFailure(e: unknown, what: string): CustodyError {
  if (e instanceof CustodyError) return e;
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOENT') return folderMissing(what, e);
  if (err?.code === 'ENOSPC') return new CustodyError('IO_ERROR', `cannot write ${what}: disk full`, { cause: e });
  return new CustodyError('IO_ERROR', `cannot write ${what}: ${err?.message ?? String(e)}`, { cause: e });
}

/** Refuses an existing `final` unless `force` (EXISTS, exit 2). */
export function assertCanCreate(final: string, force: boolean, flag = '--force'): void {
  if (!force && fs.existsSync(final)) {
    throw new CustodyError('EXISTS', `${final} already exists`, { hint: `choose another name, or add ${flag} to replace it` });
  }
}

/**
 * Opens `<dir>/.<name>.tmp-<random>` exclusively, lets `fill(fd)` write it,
 * fsyncs (unless `opts.fsync` is false: for an output whose damage its own
 * format detects), renames it to `final`. On any failure the temporary is
 * removed and the error rethrown.
 */
export async function writeFileAtomically<T>(final: string, force: boolean, fill: (fd: number) => Promise<T>, opts: { fsync?: boolean } = {}): Promise<T> {
  assertCanCreate(final, force);
  sweepStaleTemps(final, 'tmp');
  const tmp = tempNameBeside(final, 'tmp');
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
  } catch (e) {
    throw writeFailure(e, final);
  }
  trackTemp(tmp);
  let ok = false;
  try {
    const result = await fill(fd);
    try {
      if (opts.fsync !== false) fs.fsyncSync(fd);
    } catch (e) {
      throw writeFailure(e, final);
    }
    fs.closeSync(fd);
    fd = -1;
    // Checked again just before the rename: another process may have created it meanwhile.
    assertCanCreate(final, force);
    try {
      fs.renameSync(tmp, final);
    } catch (e) {
      throw writeFailure(e, final);
    }
    ok = true;
    await fsyncDir(path.dirname(final));
    return result;
  } finally {
    untrackTemp(tmp);
    if (!ok) {
      if (fd >= 0) fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
    }
  }
}
