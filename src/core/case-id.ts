/**
 * The case id rule, shared by the bundle format (bag-info External-Identifier)
 * and the ledger. A case id ends up in file names, in bag-info.txt and on
 * terminals, so it is limited to a charset that cannot inject a path, a
 * newline or an escape sequence, and starts with a letter or digit (no `-`
 * that reads as a flag). No `node:` import: the verifier page checks it too.
 */
import { CustodyError } from './errors.js';

export const CASE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function isValidCaseId(id: string): boolean {
  return CASE_ID_PATTERN.test(id);
}

/** `source` says whose mistake a bad id is: the user's (exit 2) or the evidence's (exit 1). */
export function assertCaseId(id: string, source: 'user' | 'evidence' = 'user'): void {
  if (!isValidCaseId(id)) {
    throw new CustodyError(source === 'user' ? 'USAGE' : 'MALFORMED_BUNDLE', `invalid case id ${JSON.stringify(id)}`, {
      hint: 'use 1-128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit',
    });
  }
}
