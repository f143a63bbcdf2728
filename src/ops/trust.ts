/**
 * The trust use case: add a key to the trust store. Trust comes from the
 * fingerprint confirmed out of band, never from the file; the caller shows
 * the fingerprint so the person can confirm it.
 */
import { CustodyError } from '../core/errors.js';
import { checkLabel, makeIdentity, type Identity } from '../custody/identity.js';
import { readPublicKeyAny } from '../custody/public-key-formats.js';
import type { LedgerAccess } from './ledger-access.js';

export interface TrustAdded {
  added: boolean;
  identity: Identity;
  label?: string;
  /** Whether the key file named its owner (else the label is the name). */
  named: boolean;
}

/** Adds the key in `bytes` (a .pub, PEM, OpenSSH or minisign public key) under `label` if given. */
export function addTrustedKey(ledger: LedgerAccess, bytes: Uint8Array, file: string, name?: string): TrustAdded {
  const read = readPublicKeyAny(bytes);
  const label = name === undefined ? undefined : checkLabel(name, '--name', 'USAGE');
  if (!read.naming && label === undefined) {
    throw new CustodyError('USAGE', `${file} carries no name`, { hint: 'give --name <label> to say whose key it is' });
  }
  const id = makeIdentity(read.publicKey, read.naming ?? { name: label! });
  const l = ledger();
  try {
    const { added } = l.addTrustedKey({
      publicKey: id.publicKey,
      fingerprint: id.fingerprint,
      keyid: id.keyid,
      name: id.name,
      ...(id.org !== undefined ? { org: id.org } : {}),
      ...(id.role !== undefined ? { role: id.role } : {}),
      ...(label !== undefined ? { label } : {}),
    });
    return { added, identity: id, ...(label !== undefined ? { label } : {}), named: read.naming !== undefined };
  } finally {
    l.close();
  }
}
