/**
 * Reads a public key in any form a person may hand over: our `.pub` JSON,
 * the public header of a `.key` file, an SPKI PEM (e.g. a bundle's
 * custody/sealer.pem), an OpenSSH `ssh-ed25519` line, or a minisign public
 * key we wrote. Weak keys are refused (BAD_KEY) whatever the form.
 */
import { CustodyError } from '../core/errors.js';
import { assertStrongPublicKey } from './ed25519.js';
import { parsePublicKeyFile, PUBLIC_KEY_FILE_TYPE, type Naming } from './identity.js';
import { readKeyFileHeader, SECRET_KEY_FILE_TYPE } from './keyfile.js';
import { minisignPublicKeyFromText } from './minisign.js';
import { openSshToPublicKey } from './openssh.js';
import { spkiPemToPublicKey } from './pem.js';

export type PublicKeyFormat = 'custody-pub' | 'custody-key' | 'pem' | 'ssh' | 'minisign';

export interface ReadPublicKey {
  publicKey: Uint8Array;
  format: PublicKeyFormat;
  /** name/org/role when the form carries them (.pub, .key; an ssh comment becomes the name) */
  naming?: Naming;
  created?: string;
}

export function readPublicKeyAny(bytes: Uint8Array): ReadPublicKey {
  if (bytes.length > 64 * 1024) throw new CustodyError('BAD_KEY', 'not a public key file (too large)');
  const text = new TextDecoder().decode(bytes).trim();
  if (text.startsWith('{')) {
    if (text.includes(`"${SECRET_KEY_FILE_TYPE}"`)) {
      const h = readKeyFileHeader(bytes);
      return { publicKey: h.identity.publicKey, format: 'custody-key', naming: h.identity, created: h.created };
    }
    if (!text.includes(`"${PUBLIC_KEY_FILE_TYPE}"`)) throw new CustodyError('BAD_KEY', 'not a custody public key file');
    const id = parsePublicKeyFile(bytes);
    return { publicKey: id.publicKey, format: 'custody-pub', naming: id, ...(id.created ? { created: id.created } : {}) };
  }
  let out: ReadPublicKey;
  if (text.startsWith('-----BEGIN PUBLIC KEY-----')) {
    out = { publicKey: spkiPemToPublicKey(text), format: 'pem' };
  } else if (text.startsWith('ssh-ed25519 ')) {
    const { publicKey, comment } = openSshToPublicKey(text);
    out = { publicKey, format: 'ssh', ...(comment ? { naming: { name: comment } } : {}) };
  } else if (text.startsWith('untrusted comment:')) {
    out = { publicKey: minisignPublicKeyFromText(text), format: 'minisign' };
  } else if (text.startsWith('-----BEGIN')) {
    throw new CustodyError('BAD_KEY', 'this PEM block is not a public key (give a .pub file or the output of openssl pkey -pubout)');
  } else {
    throw new CustodyError('BAD_KEY', 'not a public key: expected a custody .pub file, a PEM public key, an ssh-ed25519 line or a minisign public key');
  }
  assertStrongPublicKey(out.publicKey, 'user');
  return out;
}
