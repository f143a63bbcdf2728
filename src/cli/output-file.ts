/**
 * `-o/--out <file>` for commands whose output is a document (a hash list):
 * what would go to stdout is written under a temporary name beside the file,
 * fsynced and renamed, so a crash or a full disk never leaves a half-written
 * list that a later `--check` would take for the reference. An existing file
 * is replaced only with --force: a reference hash list made at acquisition
 * must not be overwritten by a later run by mistake.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CustodyError } from '../core/errors.js';
import { assertCanCreate, folderMissing, tempNameBeside, writeFailure } from '../bundle/atomic-output.js';
import { trackTemp, untrackTemp } from '../bundle/temp-files.js';

/** Refused before any work is done (EXISTS, exit 2; NOT_FOUND when its folder is missing). */
export function checkOutputFile(file: string, force: boolean): void {
  assertCanCreate(file, force);
  if (!fs.existsSync(path.dirname(path.resolve(file)))) {
    throw folderMissing(file);
  }
}

/**
 * The same, for output produced piece by piece: written to the temporary file
 * as it comes; close() fsyncs and renames it into place, abort() removes it.
 */
export function openOutputFile(file: string, force: boolean): { write(s: string): Promise<void>; close(): void; abort(): void } {
  assertCanCreate(file, force);
  const tmp = tempNameBeside(path.resolve(file), 'tmp');
  const failed = (e: unknown): CustodyError => writeFailure(e, file);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
  } catch (e) {
    throw failed(e);
  }
  trackTemp(tmp); // a signal while it is written removes it (cli/main.ts)
  const abort = () => {
    if (fd !== undefined) fs.closeSync(fd);
    fd = undefined;
    fs.rmSync(tmp, { force: true });
    untrackTemp(tmp);
  };
  return {
    async write(s: string) {
      try {
        const bytes = Buffer.from(s);
        for (let at = 0; at < bytes.length; ) at += fs.writeSync(fd!, bytes, at);
      } catch (e) {
        abort();
        throw failed(e);
      }
    },
    close() {
      try {
        fs.fsyncSync(fd!);
        fs.closeSync(fd!);
        fd = undefined;
        assertCanCreate(file, force);
        fs.renameSync(tmp, file);
        untrackTemp(tmp);
      } catch (e) {
        abort();
        throw failed(e);
      }
    },
    abort,
  };
}

export function writeOutputFile(file: string, body: string, force: boolean): void {
  assertCanCreate(file, force);
  const tmp = tempNameBeside(path.resolve(file), 'tmp');
  let done = false;
  try {
    const fd = fs.openSync(tmp, 'wx', 0o644);
    try {
      fs.writeFileSync(fd, body);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    assertCanCreate(file, force);
    fs.renameSync(tmp, file);
    done = true;
  } catch (e) {
    throw writeFailure(e, file);
  } finally {
    if (!done) fs.rmSync(tmp, { force: true });
  }
}
