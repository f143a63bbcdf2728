/**
 * Refuses secret keys that others can read or replace, the way ssh refuses
 * an "UNPROTECTED PRIVATE KEY FILE".
 *
 * Threats: a secret .key readable by group or others can be copied and
 * attacked offline (or used outright when it is unencrypted); one writable
 * by them can be swapped for the writer's own key, so the examiner would
 * sign hand-overs as someone else. A keys folder writable by group or others
 * lets anyone plant a .key or .pub there, and what sits in <home>/keys is
 * the examiner's own identity (found by key id, name, or as "the only key").
 *
 * The error code is BAD_KEY (exit 2): the key is unusable as it is kept, and
 * a pipeline can tell that apart from a mistyped flag (USAGE). The hint is
 * the exact chmod to run. Only the mode bits are checked, not access(): root
 * can read anything, and the question is who else can.
 */
import fs from 'node:fs';
import { CustodyError, fromSystemError } from '../core/errors.js';

/** Windows has no POSIX mode bits (Node reports 0o666 for every file). */
const enforced = process.platform !== 'win32';

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/** A quoted shell word, so the hint can be pasted as is whatever the path holds. */
function shellWord(p: string): string {
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

/** A secret key file must be readable and writable by its owner only (mode & 0o077 == 0). */
export function assertPrivateKeyFile(file: string, mode?: number): void {
  if (!enforced) return;
  let m = mode;
  if (m === undefined) {
    try {
      m = fs.statSync(file).mode;
    } catch (e) {
      throw fromSystemError(e, file);
    }
  }
  if ((m & 0o077) !== 0) {
    throw new CustodyError('BAD_KEY', `refusing the secret key ${file}: its mode ${octal(m)} lets group or others ${m & 0o022 ? 'change' : 'read'} it`, {
      hint: `chmod 600 ${shellWord(file)}`,
    });
  }
}

/** A folder of keys must not be writable by group or others (mode & 0o022 == 0). */
export function assertPrivateKeysDir(dir: string, mode: number): void {
  if (!enforced) return;
  if ((mode & 0o022) !== 0) {
    throw new CustodyError('BAD_KEY', `refusing the keys folder ${dir}: its mode ${octal(mode)} lets group or others add or replace keys`, {
      hint: `chmod 700 ${shellWord(dir)}`,
    });
  }
}
