/** The one place where an error code becomes an exit code (DESIGN §2). */
import { VERIFICATION_CODES, USAGE_CODES, type ErrorCode } from '../core/errors.js';

export const EXIT_OK = 0;
export const EXIT_NOT_VERIFIED = 1;
export const EXIT_USAGE = 2;
export const EXIT_RUNTIME = 3;

const verification = new Set<string>(VERIFICATION_CODES);
const usage = new Set<string>(USAGE_CODES);

export function exitCodeFor(code: ErrorCode): number {
  if (verification.has(code)) return EXIT_NOT_VERIFIED;
  if (usage.has(code)) return EXIT_USAGE;
  return EXIT_RUNTIME;
}

