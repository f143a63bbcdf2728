/**
 * The key use case: a new identity's secret key (encrypted with the
 * passphrase, or in clear when there is none) and its .pub, written whole or
 * not at all, never over an existing file. The passphrase is the caller's to
 * obtain (a prompt, a file, the environment).
 */
import fs from 'node:fs';
import path from 'node:path';
import { CustodyError } from '../core/errors.js';
import { publicKeyFile, signerFromSeed, type Identity, type Naming } from '../custody/identity.js';
import { encryptKeyFile } from '../custody/keyfile.js';
import { folderMissing } from '../bundle/atomic-output.js';
import { ensureHomeKeysDir, writeNewFile } from './keystore.js';

export interface NewKeyRequest {
  home: string;
  seed: Uint8Array;
  naming: Naming;
  /** <base> for <base>.key and <base>.pub; default <home>/keys/<keyid>. */
  out?: string | undefined;
  passphrase: string | null;
  now?: Date;
}

export interface NewKey {
  identity: Identity;
  created: string;
  encrypted: boolean;
  keyFile: string;
  pubFile: string;
}

/** Where a new key's files go; refuses existing ones before anything is asked or written. */
export function newKeyFiles(home: string, identity: Identity, out?: string): { keyFile: string; pubFile: string } {
  const base = out !== undefined ? path.resolve(out.replace(/\.(key|pub)$/, '')) : path.join(ensureHomeKeysDir(home), identity.keyid);
  const files = { keyFile: `${base}.key`, pubFile: `${base}.pub` };
  for (const f of [files.keyFile, files.pubFile]) {
    if (fs.existsSync(f)) throw new CustodyError('EXISTS', `refusing to overwrite ${f}`);
  }
  if (!fs.existsSync(path.dirname(base))) throw folderMissing(files.keyFile);
  return files;
}

export async function createKey(req: NewKeyRequest): Promise<NewKey> {
  const identity = signerFromSeed(req.seed, req.naming).identity;
  const { keyFile, pubFile } = newKeyFiles(req.home, identity, req.out);
  const created = (req.now ?? new Date()).toISOString();
  writeNewFile(keyFile, await encryptKeyFile(req.seed, identity, req.passphrase, created), 0o600);
  writeNewFile(pubFile, publicKeyFile(identity, created), 0o644);
  return { identity, created, encrypted: req.passphrase !== null, keyFile, pubFile };
}
