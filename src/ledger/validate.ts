/**
 * Checks on what goes into the ledger. The ledger also stores data that came
 * out of a received bundle (another authority's case id, item ids, paths), so
 * each check says whether bad input is the user's mistake (exit 2) or the
 * evidence's (exit 1). No better-sqlite3 here: seal and verify may import it.
 */
import { createHash } from 'node:crypto';
import { CustodyError } from '../core/errors.js';
import { textProblem } from '../core/text.js';

/**
 * A case id ends up in file names, in bag-info.txt and in terminal output, so
 * it is limited to a charset that cannot inject a path, a newline or an escape
 * sequence, and starts with a letter or digit (no `-` that reads as a flag).
 */
export const CASE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export type InputSource = 'user' | 'evidence';

function fail(source: InputSource, message: string): CustodyError {
  return new CustodyError(source === 'user' ? 'USAGE' : 'MALFORMED_BUNDLE', message);
}

export function isValidCaseId(id: string): boolean {
  return CASE_ID_PATTERN.test(id);
}

export function assertCaseId(id: string, source: InputSource = 'user'): void {
  if (!isValidCaseId(id)) {
    throw new CustodyError(source === 'user' ? 'USAGE' : 'MALFORMED_BUNDLE', `invalid case id ${JSON.stringify(id)}`, {
      hint: 'use 1-128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit',
    });
  }
}

export function assertHex64(value: string, what: string, source: InputSource): void {
  if (!/^[0-9a-f]{64}$/.test(value)) throw fail(source, `${what} is not 64 lowercase hex digits: ${JSON.stringify(value)}`);
}

/**
 * Free text (titles, names) may be anything printable; control characters could
 * forge terminal output (C1 too: U+009B is a one-character CSI), as in identity labels.
 */
export function assertText(value: string, what: string, source: InputSource, max = 4096): void {
  const problem = value.length === 0 ? 'must not be empty' : textProblem(value, { max });
  if (problem !== undefined) throw fail(source, `${what} ${problem}`);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
