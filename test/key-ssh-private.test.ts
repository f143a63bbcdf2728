/** `custody key export --format ssh-private` read back by ssh-keygen and used by stock age. */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';
import { openSshPrivateKeyToSeed, seedToOpenSshPrivateKey } from '../src/custody/openssh-private.js';
import { sshEd25519Recipient } from '../src/custody/age/recipients.js';
import { encryptAge } from '../src/custody/age/stream.js';
import { publicKeyFromSeed } from '../src/custody/ed25519.js';
import { CustodyError } from '../src/core/errors.js';

const dir = tempDir('custody-ssh-private-');
const env = { CUSTODY_HOME: path.join(dir, 'home') };
const base = path.join(dir, 'ana');
runCli(['key', 'new', '--name', 'Ana Lima', '--no-passphrase', '--out', base], { env });
const sshPub = runCli(['key', 'export', `${base}.pub`, '--format', 'ssh'], { env }).stdout.trim();
const keyPart = (line: string) => line.trim().split(' ').slice(0, 2).join(' ');

describe('key export --format ssh-private', () => {
  it('writes a passphrase-protected key (aes256-ctr, bcrypt) that ssh-keygen -y opens to the same public key custody exports', () => {
    const out = path.join(dir, 'ana_ed25519');
    const r = runCli(['key', 'export', `${base}.key`, '--format', 'ssh-private', '--out', out], { env: { ...env, CUSTODY_EXPORT_PASSPHRASE: 'correct horse' } });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(out, 'utf8');
    expect(text).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    const body = Buffer.from(text.split('\n').slice(1, -2).join(''), 'base64');
    expect(body.includes(Buffer.from('aes256-ctr'))).toBe(true);
    expect(body.includes(Buffer.from('bcrypt'))).toBe(true);
    const printed = execFileSync('ssh-keygen', ['-y', '-P', 'correct horse', '-f', out], { encoding: 'utf8' });
    expect(keyPart(printed)).toBe(keyPart(sshPub));
    const wrong = spawnSync('ssh-keygen', ['-y', '-P', 'wrong', '-f', out], { encoding: 'utf8' });
    expect(wrong.status).not.toBe(0);
  });

  it('writes an unencrypted key with --no-passphrase that ssh-keygen -y reads, and never replaces an existing file', () => {
    const out = path.join(dir, 'ana_plain');
    const r = runCli(['key', 'export', `${base}.key`, '--format', 'ssh-private', '--no-passphrase', '--out', out], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/NOT encrypted/);
    expect(keyPart(execFileSync('ssh-keygen', ['-y', '-f', out], { encoding: 'utf8' }))).toBe(keyPart(sshPub));
    const again = runCli(['key', 'export', `${base}.key`, '--format', 'ssh-private', '--no-passphrase', '--out', out], { env });
    expect(again.code).toBe(2);
  });

  it('refuses to print a secret key: ssh-private needs --out, and a passphrase source when there is no terminal', () => {
    const a = runCli(['key', 'export', `${base}.key`, '--format', 'ssh-private'], { env });
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--out/);
    const b = runCli(['key', 'export', `${base}.key`, '--format', 'ssh-private', '--out', path.join(dir, 'x')], { env });
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/CUSTODY_EXPORT_PASSPHRASE/);
    expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
  });

  it('reads back a passphrase-protected key that ssh-keygen made, and names a wrong passphrase', () => {
    const k = path.join(dir, 'keygen_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'pass phrase', '-C', 'made by ssh-keygen', '-f', k]);
    const { seed, comment } = openSshPrivateKeyToSeed(fs.readFileSync(k, 'utf8'), 'pass phrase');
    expect(comment).toBe('made by ssh-keygen');
    const pubLine = fs.readFileSync(`${k}.pub`, 'utf8');
    expect(Buffer.from(pubLine.split(' ')[1]!, 'base64').subarray(19).equals(Buffer.from(publicKeyFromSeed(seed)))).toBe(true);
    let err: unknown;
    try {
      openSshPrivateKeyToSeed(fs.readFileSync(k, 'utf8'), 'not it');
    } catch (e) {
      err = e;
    }
    expect((err as CustodyError).code).toBe('WRONG_PASSPHRASE');
  });

  it('lets stock age -d -i <exported key> decrypt, byte for byte, what custody encrypted to that key', async () => {
    const seed = new Uint8Array(32).map((_, i) => i * 7 + 1);
    const keyFile = path.join(dir, 'lib_ed25519');
    fs.writeFileSync(keyFile, seedToOpenSshPrivateKey(seed, 'lib', null), { mode: 0o600 });
    const plain = Buffer.alloc(200_000).map((_, i) => (i * 13) & 0xff);
    const parts: Uint8Array[] = [];
    async function* src() {
      yield new Uint8Array(plain);
    }
    for await (const c of encryptAge(src(), [sshEd25519Recipient(publicKeyFromSeed(seed), 'lib')])) parts.push(c.slice()); // encryptAge reuses its buffers
    const ageFile = path.join(dir, 'lib.age');
    fs.writeFileSync(ageFile, Buffer.concat(parts));
    const out = execFileSync('age', ['-d', '-i', keyFile, ageFile], { maxBuffer: 1 << 24 });
    expect(out.equals(plain)).toBe(true);
  });
});
