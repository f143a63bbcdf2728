/**
 * Checks on what goes into the ledger. The ledger also stores data that came
 * out of a received bundle (another authority's case id, item ids, paths), so
 * each check says whether bad input is the user's mistake (exit 2) or the
 * evidence's (exit 1). No better-sqlite3 here: seal and verify may import it.
 */
import { CustodyError } from '../core/errors.js';
import { textProblem } from '../core/text.js';

export { CASE_ID_PATTERN, assertCaseId, isValidCaseId } from '../core/case-id.js';

export type InputSource = 'user' | 'evidence';

function fail(source: InputSource, message: string): CustodyError {
  return new CustodyError(source === 'user' ? 'USAGE' : 'MALFORMED_BUNDLE', message);
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

export { sha256Hex } from '../core/digest.js';
