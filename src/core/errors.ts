/**
 * One error type for the whole tool. Library code (core, custody, bundle,
 * ledger) throws CustodyError with a string `code`; tests assert on the code,
 * and the CLI maps each code to an exit code in exactly one place
 * (src/cli/exit-codes.ts). Library code never prints or exits.
 */

/** Codes whose meaning is "the evidence does not verify" (exit 1). */
export const VERIFICATION_CODES = [
  'HASH_MISMATCH', // a payload or tag file digest differs
  'SIZE_MISMATCH', // a member's size or the Payload-Oxum differs
  'SIGNATURE_ERROR', // a raw, minisign or DSSE signature does not verify
  'UNTRUSTED_KEY', // the sealer (or, with --strict-trust, a signer) is not trusted
  'WEAK_KEY', // a small-order, mixed-order or non-canonical Ed25519 key was met in evidence
  'CHAIN_ERROR', // a custody chain rule of DESIGN §4 is broken
  'MALFORMED_BUNDLE', // the bundle does not follow the format (missing member, bad manifest line, bad JSON)
  'UNSAFE_BUNDLE', // the tar holds something a strict reader refuses (links, `..`, trailing data, …)
  'CHECK_FAILED', // `hash --check`: not every file matched
  'CHUNK_CORRUPT', // a chunk of a disk image (EWF) fails its checksum or does not decompress
  'SEGMENT_TRUNCATED', // a segment of an image (EWF or split raw) is shorter than its structure or its siblings say
  'IMAGE_MALFORMED', // a disk image does not follow its format (bad section, table, or volume)
  'CIPHERTEXT_ERROR', // an age-encrypted bundle's header, header MAC or a payload chunk does not authenticate, or it is cut short
] as const;

/** Codes whose meaning is "the user asked for something we cannot do" (exit 2). */
export const USAGE_CODES = [
  'USAGE', // bad arguments or flags
  'NOT_FOUND', // a named input does not exist
  'SEGMENT_MISSING', // a segment of a multi-file image (E02…, .002…) is not beside the others
  'WRONG_PASSPHRASE',
  'EXISTS', // refusing to overwrite
  'BAD_KEY', // a key given by the user is unusable (weak, malformed, not Ed25519)
  'NOT_CUSTODIAN', // transfer/receive with a key that does not hold custody
  'STALE_COPY', // transfer/receive of a copy the ledger knows to be stale or forked (without --allow-fork)
  'NOT_RECIPIENT', // an age-encrypted bundle is not encrypted to the key given
] as const;

/** Codes whose meaning is "something broke while running" (exit 3). */
export const RUNTIME_CODES = ['IO_ERROR', 'INTERNAL'] as const;

export type VerificationCode = (typeof VERIFICATION_CODES)[number];
export type UsageCode = (typeof USAGE_CODES)[number];
export type RuntimeCode = (typeof RUNTIME_CODES)[number];
export type ErrorCode = VerificationCode | UsageCode | RuntimeCode;

export interface ErrorDetails {
  /** A hint printed after the message, e.g. the command to run next. */
  hint?: string;
  /** Where in a bundle: member name, item id, byte range. */
  member?: string;
  item?: string;
  range?: [number, number];
  cause?: unknown;
}

export class CustodyError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly member?: string;
  readonly item?: string;
  readonly range?: [number, number];

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'CustodyError';
    this.code = code;
    if (details.hint !== undefined) this.hint = details.hint;
    if (details.member !== undefined) this.member = details.member;
    if (details.item !== undefined) this.item = details.item;
    if (details.range !== undefined) this.range = details.range;
  }
}

export function isCustodyError(e: unknown): e is CustodyError {
  return e instanceof CustodyError;
}

/**
 * Turns a Node.js system error on `path` into a CustodyError: a missing input
 * is the user's mistake (exit 2), anything else an I/O failure (exit 3).
 */
export function fromSystemError(e: unknown, path: string): CustodyError {
  if (e instanceof CustodyError) return e;
  const code = (e as { code?: unknown } | undefined)?.code; // a Node system error, typed without Node (the core also builds for the browser)
  if (code === 'ENOENT') return new CustodyError('NOT_FOUND', `no such file: ${path}`, { cause: e });
  if (code === 'EISDIR') return new CustodyError('USAGE', `${path} is a directory`, { cause: e });
  const reason = e instanceof Error ? e.message : String(e);
  return new CustodyError('IO_ERROR', `cannot read ${path}: ${reason}`, { cause: e });
}
