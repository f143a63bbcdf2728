/** `custody key new|import|list|show|export`: identities and secret keys at rest (DESIGN §2). */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Option, type Command } from 'commander';
import { CustodyError } from '../../core/errors.js';
import { groupedFingerprint } from '../../custody/ed25519.js';
import { publicKeyFile, signerFromSeed, type Identity } from '../../custody/identity.js';
import { minisignPublicKeyFile } from '../../custody/minisign.js';
import { publicKeyToOpenSsh } from '../../custody/openssh.js';
import { exportSshPrivate, type SshPrivateOptions } from '../key-ssh-private.js';
import { pkcs8PemToSeed, publicKeyToSpkiPem } from '../../custody/pem.js';
import { createKey, newKeyFiles } from '../../ops/key.js';
import { action } from '../action.js';
import type { CliContext } from '../context.js';
import { describeKeyRef, ensureKeysDir, keysDir, listHomeKeys, readKeyishFile, writeNewFile, type HomeKey } from '../keys.js';
import { outcome } from '../outcome.js';
import { readPassphrase } from '../passphrase.js';
import { table } from '../table.js';

interface MakeOptions {
  name: string;
  org?: string;
  role?: string;
  out?: string;
  /** false with --no-passphrase */
  passphrase: boolean;
  passphraseFile?: string;
}

function identityJson(id: Identity): Record<string, unknown> {
  return {
    keyid: id.keyid,
    fingerprint: id.fingerprint,
    name: id.name,
    org: id.org ?? null,
    role: id.role ?? null,
    publicKey: Buffer.from(id.publicKey).toString('base64'),
  };
}

function identityLines(id: Identity): string[] {
  return [
    `name         ${id.name}`,
    ...(id.org !== undefined ? [`org          ${id.org}`] : []),
    ...(id.role !== undefined ? [`role         ${id.role}`] : []),
    `key id       ${id.keyid}`,
    `fingerprint  ${groupedFingerprint(id.fingerprint)}`,
  ];
}

export async function storeNewKey(ctx: CliContext, seed: Uint8Array, opts: MakeOptions, from?: string) {
  if (opts.passphrase === false && opts.passphraseFile !== undefined) {
    throw new CustodyError('USAGE', '--no-passphrase and --passphrase-file contradict each other');
  }
  const naming = { name: opts.name, org: opts.org, role: opts.role };
  const id0 = signerFromSeed(seed, naming).identity;
  newKeyFiles(ctx.opts.home, id0, opts.out); // refuse existing files before asking for a passphrase
  const passphrase = opts.passphrase === false ? null : await readPassphrase({ passphraseFile: opts.passphraseFile, purpose: 'new', label: `${id0.name} (${id0.keyid})` });
  const made = await createKey({ home: ctx.opts.home, seed, naming, out: opts.out, passphrase });
  const { identity: id, created, encrypted, keyFile: keyPath, pubFile: pubPath } = made;
  const text = [
    `${from ? `imported ${from} as` : 'new key for'} ${ctx.chalk.bold(id.name)}`,
    ...identityLines(id),
    `created      ${created}`,
    `secret key   ${keyPath}${encrypted ? ' (encrypted: Argon2id + AES-256-GCM)' : ''}`,
    `public key   ${pubPath}`,
  ];
  if (!encrypted) text.push(ctx.chalk.yellow(`WARNING: the secret key is NOT encrypted (--no-passphrase); anyone who can read ${keyPath} can sign as ${id.name}.`));
  if (from) text.push(`The PEM file ${from} still holds the secret key unencrypted; delete it once you have a safe backup.`);
  text.push(`Give ${path.basename(pubPath)} to whoever must trust you, and tell them the fingerprint out of band.`);
  return outcome({ ...identityJson(id), createdAt: created, encrypted, keyFile: keyPath, pubFile: pubPath }, text);
}

function homeKeyJson(k: HomeKey & { file?: string }): Record<string, unknown> {
  return {
    ...identityJson(k.identity),
    createdAt: k.created ?? null,
    encrypted: k.encrypted ?? null,
    keyFile: k.keyPath ?? null,
    pubFile: k.pubPath ?? null,
  };
}

function listKeys(ctx: CliContext) {
  const keys = listHomeKeys(ctx);
  const text =
    keys.length === 0
      ? [`no keys in ${keysDir(ctx)} (make one: custody key new --name <name>)`]
      : table(
          ['KEY ID', 'SECRET', 'CREATED', 'NAME'],
          keys.map((k) => [
            k.keyid,
            k.keyPath === undefined ? 'public only' : k.encrypted ? 'encrypted' : 'NOT encrypted',
            (k.created ?? '-').slice(0, 10),
            [k.identity.name, k.identity.org, k.identity.role].filter(Boolean).join(', '),
          ]),
        );
  return outcome({ keys: keys.map(homeKeyJson) }, text);
}

function showKey(ctx: CliContext, ref: string) {
  const k = describeKeyRef(ctx, ref);
  const text = [
    ...identityLines(k.identity),
    `created      ${k.created ?? '-'}`,
    `secret key   ${k.keyPath === undefined ? '-' : `${k.keyPath} (${k.encrypted ? 'encrypted' : 'NOT encrypted'})`}`,
    ...(k.pubPath !== undefined ? [`public key   ${k.pubPath}`] : k.keyPath === undefined ? [`file         ${k.file}`] : []),
  ];
  return outcome({ key: { ...homeKeyJson(k), file: k.file } }, text);
}

const FORMATS = ['pem', 'minisign', 'ssh', 'json', 'ssh-private'] as const;
type ExportFormat = (typeof FORMATS)[number];

async function exportKey(ctx: CliContext, ref: string, opts: SshPrivateOptions & { format: ExportFormat }) {
  if (opts.format === 'ssh-private') return exportSshPrivate(ctx, ref, opts);
  const k = describeKeyRef(ctx, ref);
  const id = k.identity;
  let body: string;
  switch (opts.format) {
    case 'pem':
      body = publicKeyToSpkiPem(id.publicKey);
      break;
    case 'minisign':
      body = minisignPublicKeyFile(id.publicKey);
      break;
    case 'ssh':
      body = publicKeyToOpenSsh(id.publicKey, `${id.name} (custody ${id.keyid})`);
      break;
    case 'json':
      body = publicKeyFile(id, k.created);
      break;
  }
  return outcome({ format: opts.format, keyid: id.keyid, fingerprint: id.fingerprint, text: body }, body.replace(/\n$/, '').split('\n'));
}

function makeOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--name <name>', "the key owner's name, as it will appear in custody records")
    .option('--org <org>', 'organisation')
    .option('--role <role>', 'role, e.g. examiner, evidence officer')
    .option('--out <base>', 'write <base>.key and <base>.pub (default <home>/keys/<keyid>)')
    .option('--no-passphrase', 'store the secret key UNENCRYPTED (a throwaway or an HSM-less lab robot)')
    .option('--passphrase-file <file>', 'read the passphrase from this file (else env CUSTODY_PASSPHRASE, else a prompt)');
}

export function register(program: Command): void {
  const cmd = program
    .command('key')
    .description('make, import, list, show and export signing keys')
    .addHelpText(
      'after',
      '\nExamples:\n  $ custody key new --name "Ana Lima" --org "Police Lab" --role examiner\n  $ custody key list\n  $ custody key export 3f2a9c --format pem > ana.pem',
    );

  makeOptions(cmd.command('new').description('make a new Ed25519 key, encrypted with a passphrase'))
    .addHelpText('after', '\nExample:\n  $ custody key new --name "Ana Lima" --org "Police Lab" --role examiner\n  $ custody key new --name "Lab robot" --passphrase-file /run/secrets/custody-pass')
    .action(action(async (ctx: CliContext, opts: MakeOptions) => storeNewKey(ctx, new Uint8Array(randomBytes(32)), opts)));

  makeOptions(
    cmd
      .command('import')
      .description('import an Ed25519 PKCS#8 PEM key (as openssl genpkey -algorithm ed25519 writes)')
      .argument('<file.pem>', 'the PEM secret key'),
  )
    .addHelpText('after', '\nExample:\n  $ openssl genpkey -algorithm ed25519 -out ana.pem\n  $ custody key import ana.pem --name "Ana Lima" --org "Police Lab"')
    .action(
      action(async (ctx: CliContext, file: string, opts: MakeOptions) =>
        storeNewKey(ctx, pkcs8PemToSeed(new TextDecoder().decode(readKeyishFile(file))), opts, file),
      ),
    );

  cmd
    .command('list')
    .description('list the keys in <home>/keys')
    .addHelpText('after', '\nExample:\n  $ custody key list')
    .action(action(async (ctx: CliContext) => listKeys(ctx)));

  cmd
    .command('show')
    .description('show a key: name, org, role, key id, fingerprint, created')
    .argument('<key>', 'a .key or .pub file, a key id prefix, or a name in <home>/keys')
    .addHelpText('after', '\nExample:\n  $ custody key show 3f2a9c\n  $ custody key show examiner.pub')
    .action(action(async (ctx: CliContext, ref: string) => showKey(ctx, ref)));

  cmd
    .command('export')
    .description('print a public key as PEM (openssl), minisign, OpenSSH or custody JSON (.pub); or write the secret key as an OpenSSH private key (ssh-private)')
    .argument('<key>', 'a .key or .pub file, a key id prefix, or a name in <home>/keys')
    .addOption(new Option('--format <format>', 'output format').choices([...FORMATS]).makeOptionMandatory())
    .option('--out <file>', 'ssh-private: the file to write (mode 0600; never replaced)')
    .option('--no-passphrase', 'ssh-private: write the OpenSSH key UNENCRYPTED')
    .option('--passphrase-file <file>', "read the custody key's passphrase from this file")
    .option('--export-passphrase-file <file>', 'ssh-private: read the new OpenSSH passphrase from this file (else env CUSTODY_EXPORT_PASSPHRASE, else a prompt)')
    .addHelpText(
      'after',
      '\nExample:\n  $ custody key export 3f2a9c --format pem > examiner.pem\n  $ custody key export 3f2a9c --format ssh > examiner.ssh.pub\n  $ custody key export 3f2a9c --format ssh-private --out ~/.ssh/custody_ed25519\n  $ age -d -i ~/.ssh/custody_ed25519 -o bundle.tar bundle.tar.age',
    )
    .action(action(async (ctx: CliContext, ref: string, opts: SshPrivateOptions & { format: ExportFormat }) => exportKey(ctx, ref, opts)));
}
