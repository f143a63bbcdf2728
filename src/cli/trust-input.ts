/**
 * What a verification trusts, from the command line and the home: every
 * --trust file's key, every --trust fingerprint as people read it out (64 hex
 * digits, any case, spaces/colons/dashes allowed: checked against the
 * bundle's sealer key), the sound rows of the trust store, and the
 * examiner's own keys (<home>/keys, trusted for their own bundles).
 * Resolved here, in the CLI, because references name files and the home; the
 * use cases get plain keys and fingerprints.
 *
 * A key id or a fingerprint prefix names a key but never makes one trusted
 * (DESIGN §2): 16 hex digits are easy to collide with a made-up key.
 */
import path from 'node:path';
import { CustodyError } from '../core/errors.js';
import type { CliContext } from './context.js';
import { hexKeyRef } from './key-ref.js';
import { listHomeKeys, loadIdentityRef, trustStoreKeys } from './keys.js';

export interface TrustSet {
  trusted: Uint8Array[];
  trustedFingerprints: string[];
  ownKeys: Uint8Array[];
}

export function trustFor(ctx: CliContext, refs: string[]): TrustSet {
  const trusted: Uint8Array[] = [];
  const trustedFingerprints: string[] = [];
  for (const ref of refs) {
    const hex = hexKeyRef(ref);
    if (hex === undefined) {
      trusted.push(loadIdentityRef(ctx, ref, path.basename(ref)).publicKey);
    } else if (hex.length === 64) {
      trustedFingerprints.push(hex);
    } else {
      throw new CustodyError('USAGE', `--trust ${ref}: a key id or fingerprint prefix names a key but never makes one trusted`, {
        hint: 'give all 64 hex digits of the fingerprint as read out to you (spaces, colons or dashes allowed), or the .pub file',
      });
    }
  }
  trusted.push(...trustStoreKeys(ctx).map((k) => k.publicKey));
  const ownKeys = listHomeKeys(ctx)
    .filter((k) => k.keyPath !== undefined)
    .map((k) => k.identity.publicKey);
  return { trusted, trustedFingerprints, ownKeys };
}

/** Every key the trust set holds as a key (for log, which shows who is trusted but never fails on it). */
export function trustedKeys(ctx: CliContext, refs: string[]): Uint8Array[] {
  const t = trustFor(ctx, refs);
  return [...t.trusted, ...t.ownKeys];
}
