/**
 * Several output files of one run (a report's HTML form and its CASE/UCO
 * JSON-LD) written all or none: each under a temporary name beside its
 * place, fsynced, then all renamed into place; a failure removes the
 * temporaries and takes back the renames before it. The whole step is
 * synchronous (a report is rendered in memory first), so a signal — handled
 * only between event-loop turns — lands before it or after it, never between
 * two outputs.
 *
 * Threat: an interrupted or failed run leaving the first of its outputs, a
 * form without the JSON-LD that was asked with it, taken later for the
 * complete result of a run that exited 130 or 2.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CustodyError } from '../core/errors.js';
import { assertCanCreate } from './atomic-output.js';
import { sweepStaleTemps, tempNameBeside, trackTemp, untrackTemp } from './temp-files.js';

function ioError(e: unknown, what: string): CustodyError {
  if (e instanceof CustodyError) return e;
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOSPC') return new CustodyError('IO_ERROR', `cannot write ${what}: disk full`, { cause: e });
  return new CustodyError('IO_ERROR', `cannot write ${what}: ${err?.message ?? String(e)}`, { cause: e });
}

/** Writes every `bytes` to its `file` (absolute paths), all or none; an existing file is replaced only with `force`. */
export function writeFilesAtomically(outputs: readonly { file: string; bytes: Uint8Array }[], force: boolean): void {
  for (const o of outputs) assertCanCreate(o.file, force);
  const tmps: string[] = [];
  const placed: string[] = [];
  let done = false;
  try {
    for (const o of outputs) {
      sweepStaleTemps(o.file, 'tmp');
      const tmp = tempNameBeside(o.file, 'tmp');
      let fd: number;
      try {
        fd = fs.openSync(tmp, 'wx', 0o644);
      } catch (e) {
        throw ioError(e, o.file);
      }
      tmps.push(tmp);
      trackTemp(tmp);
      try {
        for (let off = 0; off < o.bytes.length; ) off += fs.writeSync(fd, o.bytes, off);
        fs.fsyncSync(fd);
      } catch (e) {
        throw ioError(e, o.file);
      } finally {
        fs.closeSync(fd);
      }
    }
    // One synchronous step from here to the end of the renames.
    for (const o of outputs) assertCanCreate(o.file, force);
    outputs.forEach((o, i) => {
      try {
        fs.renameSync(tmps[i]!, o.file);
      } catch (e) {
        throw ioError(e, o.file);
      }
      placed.push(o.file);
    });
    done = true;
  } finally {
    for (const t of tmps) untrackTemp(t);
    if (!done) {
      for (const t of tmps) fs.rmSync(t, { force: true });
      for (const f of placed) fs.rmSync(f, { force: true });
    }
  }
  for (const dir of new Set(outputs.map((o) => path.dirname(o.file)))) {
    try {
      const fd = fs.openSync(dir, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      /* best effort: some file systems refuse fsync on a folder */
    }
  }
}
