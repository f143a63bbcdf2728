/**
 * Which keys an encrypted bundle is written to and opened with.
 *
 * Recipients: the transfer's recipient (their custody key, as an
 * `ssh-ed25519` stanza stock age understands), plus any --encrypt-to: an
 * `age1…` recipient, an `ssh-ed25519 …` line, or a file holding either (or a
 * custody .pub / PEM / minisign key), or a fingerprint in the keys or trust
 * store. Identities (--key): a custody key (the usual way: --key, env
 * CUSTODY_KEY, the only key in the home), an OpenSSH Ed25519 private key
 * file, or an age identity file (AGE-SECRET-KEY-1… lines).
 *
 * Threats guarded against: a bundle encrypted to someone other than the
 * person the transfer names (the first recipient is built from the very
 * identity the record names), and a recipient silently dropped (an ssh key
 * of another type, or a line that is no key, is refused, not skipped).
 */
import fs from 'node:fs';
import path from 'node:path';
import { CustodyError } from '../core/errors.js';
import { keyId } from '../custody/ed25519.js';
import type { Identity } from '../custody/identity.js';
import { openSshToPublicKey } from '../custody/openssh.js';
import { isOpenSshPrivateKey, openSshPrivateKeyIsEncrypted, openSshPrivateKeyToSeed } from '../custody/openssh-private.js';
import { readPublicKeyAny } from '../custody/public-key-formats.js';
import { publicKeyFromSeed } from '../custody/ed25519.js';
import {
  parseX25519Identity,
  parseX25519Recipient,
  sshEd25519Identity,
  sshEd25519Recipient,
  type AgeIdentity,
  type AgeRecipient,
} from '../custody/age/recipients.js';
import type { CliContext } from './context.js';
import { loadIdentityRef, loadSecretKey, readKeyishFile } from './keys.js';
import { readPassphrase } from './passphrase.js';

export function identityLabel(id: Identity): string {
  return `${id.keyid} (${id.name})`;
}

/** A recipient for a custody identity: the ssh-ed25519 stanza for its key. */
export function recipientForIdentity(id: Identity): AgeRecipient {
  return sshEd25519Recipient(id.publicKey, identityLabel(id));
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function contentLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

function recipientFromLine(line: string): AgeRecipient | undefined {
  if (/^age1[0-9a-z]+$/.test(line)) return parseX25519Recipient(line);
  if (line.startsWith('ssh-ed25519 ')) {
    const { publicKey, comment } = openSshToPublicKey(line);
    return sshEd25519Recipient(publicKey, `${keyId(publicKey)}${comment ? ` (${comment})` : ''}`);
  }
  if (/^(ssh-|ecdsa-|sk-)/.test(line)) throw new CustodyError('BAD_KEY', `only ssh-ed25519 keys can be recipients, not ${line.split(' ')[0]}`);
  return undefined;
}

/** One --encrypt-to value → its recipients. */
export function parseRecipientSpec(ctx: CliContext, spec: string): AgeRecipient[] {
  const direct = recipientFromLine(spec.trim());
  if (direct) return [direct];
  if (isFile(spec)) {
    const bytes = readKeyishFile(spec);
    const lines = contentLines(new TextDecoder().decode(bytes));
    const fromLines = lines.map(recipientFromLine);
    if (lines.length > 0 && fromLines.every((r) => r !== undefined)) return fromLines as AgeRecipient[];
    const r = readPublicKeyAny(bytes);
    return [sshEd25519Recipient(r.publicKey, `${keyId(r.publicKey)} (${r.naming?.name ?? path.basename(spec)})`)];
  }
  return [recipientForIdentity(loadIdentityRef(ctx, spec))];
}

/** The transfer's recipient first, then every --encrypt-to. */
export function loadRecipients(ctx: CliContext, to: Identity, extra: string[] = []): AgeRecipient[] {
  return [recipientForIdentity(to), ...extra.flatMap((s) => parseRecipientSpec(ctx, s))];
}

/** The identities to open an encrypted bundle with, from --key (see the module header). */
export async function loadAgeIdentities(ctx: CliContext, opts: { key?: string | undefined; passphraseFile?: string | undefined }): Promise<AgeIdentity[]> {
  const ref = opts.key;
  if (ref !== undefined && isFile(ref)) {
    // By content, not by name: age-keygen's files end in .key too.
    const text = new TextDecoder().decode(readKeyishFile(ref));
    if (isOpenSshPrivateKey(text)) {
      const passphrase = openSshPrivateKeyIsEncrypted(text) ? await readPassphrase({ passphraseFile: opts.passphraseFile, purpose: 'unlock', label: ref }) : null;
      const { seed, comment } = openSshPrivateKeyToSeed(text, passphrase);
      return [sshEd25519Identity(seed, `${keyId(publicKeyFromSeed(seed))}${comment ? ` (${comment})` : ''}`)];
    }
    const ageLines = contentLines(text);
    if (ageLines.length > 0 && ageLines.every((l) => l.startsWith('AGE-SECRET-KEY-1'))) return ageLines.map(parseX25519Identity);
  }
  const { seed, identity } = await loadSecretKey(ctx, opts);
  return [sshEd25519Identity(seed, identityLabel(identity))];
}
