/**
 * The trust use case: add a key to the trust store. Trust comes from the
 * fingerprint confirmed out of band, never from the file; the caller shows
 * the fingerprint so the person can confirm it.
 */
import { CustodyError } from '../core/errors.js';
import { checkLabel, makeIdentity, type Identity } from '../custody/identity.js';
import { readPublicKeyAny } from '../custody/public-key-formats.js';
import type { LedgerAccess } from './ledger-access.js';
import { readBundleChain } from '../bundle/chain-read.js';
import { checkBundleChain } from '../bundle/custody-ops.js';
import { fingerprint } from '../custody/ed25519.js';

export interface TrustAdded {
  added: boolean;
  identity: Identity;
  label?: string;
  /** Whether the key file named its owner (else the label is the name). */
  named: boolean;
}

/** Adds the key in `bytes` (a .pub, PEM, OpenSSH or minisign public key) under `label` if given. */
export async function addTrustedKey(ledger: LedgerAccess, bytes: Uint8Array, file: string, name?: string): Promise<TrustAdded> {
  const read = readPublicKeyAny(bytes);
  const label = name === undefined ? undefined : checkLabel(name, '--name', 'USAGE');
  if (!read.naming && label === undefined) {
    throw new CustodyError('USAGE', `${file} carries no name`, { hint: 'give --name <label> to say whose key it is' });
  }
  return store(ledger, makeIdentity(read.publicKey, read.naming ?? { name: label! }), label, read.naming !== undefined);
}

/**
 * Adds the sealer's key of `bundle` once its fingerprint is the one read out
 * (a letter of request, a phone call): the key comes from the bundle, the
 * trust from the fingerprint. The name is the seal record's (signed by that
 * key) unless `name` is given.
 */
export async function addTrustedFromBundle(ledger: LedgerAccess, bundle: string, fingerprintAsRead: string, name?: string): Promise<TrustAdded> {
  const fp = normalizeFingerprint(fingerprintAsRead);
  const chain = await readBundleChain(bundle);
  const got = fingerprint(chain.sealerPublicKey);
  if (got !== fp) {
    throw new CustodyError('UNTRUSTED_KEY', `the sealer's key in ${bundle} has fingerprint ${got}, not ${fp}: not trusted`, {
      hint: 'check the fingerprint with the sealer again; do not trust this bundle until they match',
    });
  }
  const seal = checkBundleChain(chain).records[0]?.predicate?.by;
  const label = name === undefined ? undefined : checkLabel(name, '--name', 'USAGE');
  const naming = seal ? { name: seal.name, org: seal.org, role: seal.role } : label !== undefined ? { name: label } : undefined;
  if (!naming) throw new CustodyError('USAGE', `the seal record of ${bundle} cannot be read for a name`, { hint: 'give --name <label>' });
  return store(ledger, makeIdentity(chain.sealerPublicKey, naming), label, seal !== undefined);
}

/** A fingerprint as people read it out: 64 hex digits, any case, spaces, colons or dashes between. */
export function normalizeFingerprint(asRead: string): string {
  const digits = asRead.trim().replace(/[ :-]+/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(digits)) {
    throw new CustodyError('USAGE', `${JSON.stringify(asRead)} is not a fingerprint (64 hex digits; spaces, colons or dashes allowed)`, {
      hint: digits.length === 16 ? 'that is a key id: it names a key but never makes one trusted; ask for the whole fingerprint' : 'custody prints it as 16 groups of 4 hex digits',
    });
  }
  return digits;
}

async function store(ledger: LedgerAccess, id: Identity, label: string | undefined, named: boolean): Promise<TrustAdded> {
  const l = await ledger();
  try {
    const { added } = await l.addTrustedKey({
      publicKey: id.publicKey,
      fingerprint: id.fingerprint,
      keyid: id.keyid,
      name: id.name,
      ...(id.org !== undefined ? { org: id.org } : {}),
      ...(id.role !== undefined ? { role: id.role } : {}),
      ...(label !== undefined ? { label } : {}),
    });
    return { added, identity: id, ...(label !== undefined ? { label } : {}), named };
  } finally {
    await l.close();
  }
}
