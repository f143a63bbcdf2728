/**
 * `custody key export <key> --format ssh-private`: the custody secret key as
 * an OpenSSH private key file, so a recipient can open an encrypted bundle
 * with stock `age -d -i <file>`. Written only to a new file of mode 0600
 * (never to stdout, where it would land in scrollback or a 0644 redirect),
 * protected by its own passphrase unless --no-passphrase.
 */
import { CustodyError } from '../core/errors.js';
import { seedToOpenSshPrivateKey } from '../custody/openssh-private.js';
import type { CliContext } from './context.js';
import { loadSecretKey, writeNewFile } from './keys.js';
import { outcome, type Outcome } from './outcome.js';
import { readPassphrase } from './passphrase.js';

export interface SshPrivateOptions {
  out?: string;
  /** false with --no-passphrase */
  passphrase?: boolean;
  passphraseFile?: string;
  exportPassphraseFile?: string;
}

export async function exportSshPrivate(ctx: CliContext, ref: string, opts: SshPrivateOptions): Promise<Outcome> {
  if (opts.out === undefined) {
    throw new CustodyError('USAGE', '--format ssh-private writes a secret key: give --out <file>', { hint: 'e.g. --out ~/.ssh/custody_ed25519' });
  }
  if (opts.passphrase === false && opts.exportPassphraseFile !== undefined) {
    throw new CustodyError('USAGE', '--no-passphrase and --export-passphrase-file contradict each other');
  }
  if (opts.passphrase !== false && opts.exportPassphraseFile === undefined && process.env.CUSTODY_EXPORT_PASSPHRASE === undefined && !process.stdin.isTTY) {
    throw new CustodyError('USAGE', 'no passphrase for the OpenSSH key and no terminal to ask on', {
      hint: 'set CUSTODY_EXPORT_PASSPHRASE, use --export-passphrase-file <file>, or --no-passphrase',
    });
  }
  const { seed, identity } = await loadSecretKey(ctx, { key: ref, passphraseFile: opts.passphraseFile });
  const comment = `${identity.name} (custody ${identity.keyid})`;
  const passphrase =
    opts.passphrase === false
      ? null
      : await readPassphrase(
          { passphraseFile: opts.exportPassphraseFile, purpose: 'new', label: `the OpenSSH copy of ${comment}` },
          process.env.CUSTODY_EXPORT_PASSPHRASE === undefined ? {} : { CUSTODY_PASSPHRASE: process.env.CUSTODY_EXPORT_PASSPHRASE },
        );
  writeNewFile(opts.out, seedToOpenSshPrivateKey(seed, comment, passphrase), 0o600);
  const text = [`wrote ${opts.out} (OpenSSH private key of ${identity.name}, key id ${identity.keyid})`];
  if (passphrase === null) text.push(ctx.chalk.yellow(`WARNING: ${opts.out} is NOT encrypted (--no-passphrase); anyone who can read it can decrypt and sign as ${identity.name}.`));
  return outcome({ format: 'ssh-private', keyid: identity.keyid, fingerprint: identity.fingerprint, file: opts.out, encrypted: passphrase !== null }, text);
}
