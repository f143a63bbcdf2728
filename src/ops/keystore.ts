/**
 * The key store on disk: <home>/keys (mode 0700) holding <keyid>.key (secret,
 * 0600) and <keyid>.pub. Files are written whole or not at all and never
 * replaced; key-ish inputs are read with a size cap (a key is tiny: a huge
 * file given as a key must not be read into memory).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CustodyError, fromSystemError } from '../core/errors.js';
import { writeFailure } from '../bundle/atomic-output.js';

/** Key files are tiny; anything bigger is not one (and must not be read into memory whole). */
const MAX_KEY_FILE = 64 * 1024;

export function homeKeysDir(home: string): string {
  return path.join(home, 'keys');
}

/** Creates <home> and <home>/keys with mode 0700 (secret keys live there). */
export function ensureHomeKeysDir(home: string): string {
  const dir = homeKeysDir(home);
  try {
    fs.mkdirSync(home, { recursive: true, mode: 0o700 });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
  } catch (e) {
    throw fromSystemError(e, dir);
  }
  return dir;
}

export function readKeyishFile(file: string): Uint8Array {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new CustodyError('USAGE', `${file} is not a file`);
    if (st.size > MAX_KEY_FILE) throw new CustodyError('BAD_KEY', `${file} is too large to be a key file`);
    return new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    throw fromSystemError(e, file);
  }
}

/**
 * Writes a new file under a temporary name, fsyncs it and links it into
 * place, refusing to replace an existing file (link fails if the name
 * exists, atomically — no window where a half-written key is visible).
 */
export function writeNewFile(file: string, bytes: Uint8Array | string, mode: number): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode);
    try {
      fs.writeSync(fd, typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new CustodyError('EXISTS', `refusing to overwrite ${file}`);
      throw e;
    }
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch (e) {
    throw writeFailure(e, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

