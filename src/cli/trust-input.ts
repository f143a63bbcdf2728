/**
 * The keys a verification trusts: every --trust reference (a key file, or a
 * fingerprint / key id in the key stores) plus the sound rows of the trust
 * store. Resolved here, in the CLI, because references name files and the
 * home; the use cases get plain keys.
 */
import path from 'node:path';
import type { CliContext } from './context.js';
import { loadIdentityRef, trustStoreKeys } from './keys.js';

export function trustedKeys(ctx: CliContext, refs: string[]): Uint8Array[] {
  const keys: Uint8Array[] = refs.map((r) => loadIdentityRef(ctx, r, path.basename(r)).publicKey);
  keys.push(...trustStoreKeys(ctx).map((k) => k.publicKey));
  return keys;
}
