/** `custody key …` end to end through the built CLI, checked with openssl, ssh-keygen and minisign. */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';
import { decryptKeyFile, readKeyFileHeader } from '../src/custody/keyfile.js';
import { parsePublicKeyFile, publicKeyFile, signerFromSeed } from '../src/custody/identity.js';
import { pkcs8PemToSeed } from '../src/custody/pem.js';
import { minisignSign } from '../src/custody/minisign.js';
import { makeContext } from '../src/cli/context.js';
import { loadSigner, resolveKeyRef, loadIdentityRef } from '../src/cli/keys.js';
import { CustodyError } from '../src/core/errors.js';
import { buildProgram } from '../src/cli/main.js';
import { encryptKeyFile } from '../src/custody/keyfile.js';

const env = (extra: Record<string, string> = {}) => {
  const e: Record<string, string> = { ...(process.env as Record<string, string>), ...extra };
  delete e.CUSTODY_PASSPHRASE;
  delete e.CUSTODY_KEY;
  delete e.CUSTODY_HOME;
  return { ...e, ...extra };
};

function newHome(): string {
  return path.join(tempDir('custody-key-'), 'home');
}

function json(home: string, args: string[], extra: Record<string, string> = {}) {
  const r = runCli(['--home', home, '--json', ...args], { env: env(extra) });
  return { ...r, doc: r.stdout ? JSON.parse(r.stdout) : undefined };
}

describe('key new', () => {
  it('--no-passphrase: writes <home>/keys/<keyid>.key (0600) and .pub, says it is unencrypted', () => {
    const home = newHome();
    const r = runCli(['--home', home, 'key', 'new', '--name', 'Ana Lima', '--org', 'Police Lab', '--role', 'examiner', '--no-passphrase'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/NOT encrypted/);
    const keyid = /key id\s+([0-9a-f]{16})/.exec(r.stdout)![1]!;
    const keyFile = path.join(home, 'keys', `${keyid}.key`);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(home, 'keys')).mode & 0o777).toBe(0o700);
    const pub = parsePublicKeyFile(fs.readFileSync(path.join(home, 'keys', `${keyid}.pub`)));
    expect(pub).toMatchObject({ name: 'Ana Lima', org: 'Police Lab', role: 'examiner', keyid });
    expect(readKeyFileHeader(fs.readFileSync(keyFile)).encrypted).toBe(false);
    // no temp files left behind
    expect(fs.readdirSync(path.join(home, 'keys')).sort()).toEqual([`${keyid}.key`, `${keyid}.pub`]);
  });

  it('with CUSTODY_PASSPHRASE: encrypted, and that passphrase opens it', async () => {
    const home = newHome();
    const r = json(home, ['key', 'new', '--name', 'Bob'], { CUSTODY_PASSPHRASE: 'tr0ub4dor' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.doc).toMatchObject({ ok: true, name: 'Bob', encrypted: true });
    const bytes = fs.readFileSync(r.doc.keyFile);
    expect((await decryptKeyFile(bytes, 'tr0ub4dor')).identity.keyid).toBe(r.doc.keyid);
    expect(r.doc.keyid).toBe(r.doc.fingerprint.slice(0, 16));
  });

  it('with --passphrase-file (one trailing newline is not part of it) and --out', async () => {
    const dir = tempDir('custody-key-');
    fs.writeFileSync(path.join(dir, 'pass'), 'from a file\n');
    const r = json(path.join(dir, 'home'), ['key', 'new', '--name', 'Lab robot', '--passphrase-file', path.join(dir, 'pass'), '--out', path.join(dir, 'robot')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.doc.keyFile).toBe(path.join(dir, 'robot.key'));
    expect((await decryptKeyFile(fs.readFileSync(path.join(dir, 'robot.key')), 'from a file')).identity.name).toBe('Lab robot');
    // --out over an existing key: refused, exit 2, nothing changed
    const before = fs.readFileSync(path.join(dir, 'robot.key'));
    const again = runCli(['--home', path.join(dir, 'home'), 'key', 'new', '--name', 'X', '--no-passphrase', '--out', path.join(dir, 'robot')], { env: env() });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^custody: refusing to overwrite .*robot\.key\n$/);
    expect(fs.readFileSync(path.join(dir, 'robot.key'))).toEqual(before);
  });

  it('--out into a folder that does not exist: exit 2 naming the folder as missing, before any passphrase is asked', () => {
    const dir = tempDir('custody-key-');
    const r = runCli(['--home', path.join(dir, 'home'), 'key', 'new', '--name', 'X', '--out', path.join(dir, 'no', 'such', 'k')], { env: env(), input: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`custody: cannot write ${path.join(dir, 'no', 'such', 'k.key')}: its folder does not exist\n`);
    expect(fs.existsSync(path.join(dir, 'no'))).toBe(false);
  });

  it('no passphrase source and no terminal: exit 2 with one clear line, nothing written', () => {
    const home = newHome();
    const r = runCli(['--home', home, 'key', 'new', '--name', 'Ana'], { env: env(), input: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^custody: no passphrase for Ana .* and no terminal to ask on \(set CUSTODY_PASSPHRASE or use --passphrase-file <file>, or --no-passphrase/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(path.join(home, 'keys')) ? fs.readdirSync(path.join(home, 'keys')) : []).toEqual([]);
  });

  it('refuses a name with control characters and a missing --name', () => {
    const home = newHome();
    const r = runCli(['--home', home, 'key', 'new', '--name', 'Ana\u001b[2J', '--no-passphrase'], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^custody: name contains a control character \(\\u001B\)/);
    expect(runCli(['--home', home, 'key', 'new', '--no-passphrase'], { env: env() }).code).toBe(2);
  });

  it('prompts with no echo on a terminal (asks twice)', async () => {
    const home = newHome();
    const script = `
import os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b''
def until(marker):
    global out
    while marker not in out:
        chunk = os.read(fd, 1024)
        if not chunk: break
        out += chunk
until(b'New passphrase')
os.write(fd, b'typed secret\\r')
until(b'Repeat the passphrase')
os.write(fd, b'typed secret\\r')
try:
    while True:
        chunk = os.read(fd, 1024)
        if not chunk: break
        out += chunk
except OSError:
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode('utf8', 'replace'))
sys.exit(os.waitstatus_to_exitcode(status))
`;
    const r = spawnSync('python3', ['-c', script, process.execPath, path.resolve('bin/custody.js'), '--home', home, 'key', 'new', '--name', 'Tty User'], {
      encoding: 'utf8',
      env: env({ NO_COLOR: '1' }),
      timeout: 50_000,
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('New passphrase for Tty User');
    expect(r.stdout).not.toContain('typed secret'); // no echo
    const keyFile = fs.readdirSync(path.join(home, 'keys')).find((f) => f.endsWith('.key'))!;
    expect((await decryptKeyFile(fs.readFileSync(path.join(home, 'keys', keyFile)), 'typed secret')).identity.name).toBe('Tty User');
  });
});

describe('key import / export against the real tools', () => {
  const dir = tempDir('custody-keyx-');
  const home = path.join(dir, 'home');
  const pem = path.join(dir, 'ana.pem');
  execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', pem]);
  const imported = json(home, ['key', 'import', pem, '--name', 'Ana Lima', '--org', 'Police Lab', '--no-passphrase']);

  it('imports an openssl key and warns that the PEM is still in the clear', () => {
    expect(imported.code, imported.stderr).toBe(0);
    const text = runCli(['--home', home, 'key', 'show', imported.doc.keyid], { env: env() });
    expect(text.stdout).toContain(`key id       ${imported.doc.keyid}`);
    expect(text.stdout).toContain('Police Lab');
    const again = runCli(['--home', path.join(dir, 'home2'), 'key', 'import', pem, '--name', 'Ana', '--no-passphrase'], { env: env() });
    expect(again.stdout).toMatch(/still holds the secret key unencrypted/);
  });

  it('--format pem equals `openssl pkey -pubout`', () => {
    const r = runCli(['--home', home, 'key', 'export', imported.doc.keyid, '--format', 'pem'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(execFileSync('openssl', ['pkey', '-in', pem, '-pubout'], { encoding: 'utf8' }));
  });

  it('--format ssh passes `ssh-keygen -l -f`', () => {
    const r = runCli(['--home', home, 'key', 'export', 'Ana Lima', '--format', 'ssh'], { env: env() });
    const f = path.join(dir, 'ana.ssh.pub');
    fs.writeFileSync(f, r.stdout);
    const out = execFileSync('ssh-keygen', ['-l', '-f', f], { encoding: 'utf8' });
    expect(out).toMatch(/^256 SHA256:\S+ Ana Lima \(custody [0-9a-f]{16}\) \(ED25519\)/);
  });

  it('--format minisign works with `minisign -V` on a signature by the same key', () => {
    const r = runCli(['--home', home, 'key', 'export', imported.doc.keyid, '--format', 'minisign'], { env: env() });
    const pubFile = path.join(dir, 'ana.minisign.pub');
    fs.writeFileSync(pubFile, r.stdout);
    const msg = path.join(dir, 'msg.txt');
    fs.writeFileSync(msg, 'evidence\n');
    const signer = signerFromSeed(pkcs8PemToSeed(fs.readFileSync(pem, 'utf8')), { name: 'Ana Lima' });
    fs.writeFileSync(`${msg}.minisig`, minisignSign(signer, fs.readFileSync(msg), 'test'));
    const v = spawnSync('minisign', ['-V', '-m', msg, '-p', pubFile], { encoding: 'utf8' });
    expect(v.status, v.stderr).toBe(0);
  });

  it('--format json is the .pub file; key list shows the key', () => {
    const r = runCli(['--home', home, 'key', 'export', imported.doc.keyid.slice(0, 6), '--format', 'json'], { env: env() });
    expect(parsePublicKeyFile(r.stdout).keyid).toBe(imported.doc.keyid);
    const list = json(home, ['key', 'list']);
    expect(list.doc.keys).toEqual([expect.objectContaining({ keyid: imported.doc.keyid, name: 'Ana Lima', encrypted: false })]);
  });

  it('refuses an RSA PEM, an unknown key, a bad format — exit 2, one line', () => {
    const rsa = path.join(dir, 'rsa.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'rsa', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', rsa], { stdio: 'ignore' });
    const a = runCli(['--home', home, 'key', 'import', rsa, '--name', 'X', '--no-passphrase'], { env: env() });
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/^custody: the PEM private key is not an Ed25519 PKCS#8 key/);
    const b = runCli(['--home', home, 'key', 'show', 'nobody'], { env: env() });
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/^custody: no key "nobody"/);
    const c = runCli(['--home', home, 'key', 'export', imported.doc.keyid, '--format', 'gpg'], { env: env() });
    expect(c.code).toBe(2);
    for (const r of [a, b, c]) expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('every key subcommand has an example in its help', () => {
    const key = buildProgram().commands.find((c) => c.name() === 'key')!;
    for (const sub of ['new', 'import', 'list', 'show', 'export']) {
      const cmd = key.commands.find((c) => c.name() === sub)!;
      let help = '';
      cmd.configureOutput({ writeOut: (t) => (help += t) });
      cmd.outputHelp();
      expect(help, sub).toMatch(/Example:\n {2}\$ /);
      expect(help, sub).toContain(`custody key ${sub}`);
    }
  });
});

describe('loadSigner / resolveKeyRef (what seal, transfer and receive call)', () => {
  const ctxFor = (home: string) => makeContext({ home, quiet: true });

  it('a wrong passphrase is WRONG_PASSPHRASE "wrong passphrase for <key>"; the right one signs', async () => {
    const home = newHome();
    // Made in-process with small Argon2id parameters to keep the test fast; the CLI path is the same code.
    const signer0 = signerFromSeed(new Uint8Array(32).fill(4), { name: 'Ana' });
    fs.mkdirSync(path.join(home, 'keys'), { recursive: true, mode: 0o700 });
    const made = { doc: { keyid: signer0.identity.keyid, keyFile: path.join(home, 'keys', `${signer0.identity.keyid}.key`), pubFile: path.join(home, 'keys', `${signer0.identity.keyid}.pub`) } };
    fs.writeFileSync(made.doc.keyFile, await encryptKeyFile(new Uint8Array(32).fill(4), signer0.identity, 'right', '2026-01-01T00:00:00.000Z', { kdf: { memoryKiB: 256, iterations: 1, parallelism: 1 } }), { mode: 0o600 });
    fs.writeFileSync(made.doc.pubFile, publicKeyFile(signer0.identity));
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'wrong'), 'wrong\n');
    fs.writeFileSync(path.join(dir, 'right'), 'right\n');
    const err = await loadSigner(ctxFor(home), { passphraseFile: path.join(dir, 'wrong') }).catch((e) => e);
    expect(err).toBeInstanceOf(CustodyError);
    expect(err.code).toBe('WRONG_PASSPHRASE');
    expect(err.message).toBe(`wrong passphrase for ${made.doc.keyFile}`);
    const signer = await loadSigner(ctxFor(home), { passphraseFile: path.join(dir, 'right') });
    expect(signer.identity.keyid).toBe(made.doc.keyid);
    // a .pub reference finds its .key
    const s2 = await loadSigner(ctxFor(home), { key: made.doc.pubFile, passphraseFile: path.join(dir, 'right') });
    expect(s2.identity.keyid).toBe(made.doc.keyid);
  });

  it('through the CLI (seal): a wrong passphrase exits 2 with exactly "custody: wrong passphrase for <key>", nothing written', async () => {
    const dir = tempDir('custody-wrongpass-');
    const seed = new Uint8Array(32).fill(6);
    const id = signerFromSeed(seed, { name: 'Ana' }).identity;
    const keyFile = path.join(dir, 'ana.key');
    fs.writeFileSync(keyFile, await encryptKeyFile(seed, id, 'right', '2026-01-01T00:00:00.000Z', { kdf: { memoryKiB: 256, iterations: 1, parallelism: 1 } }), { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'evidence.bin'), 'evidence');
    const r = runCli(['--home', path.join(dir, 'home'), 'seal', path.join(dir, 'evidence.bin'), '--case', 'c-1', '--out', path.join(dir, 'b.tar'), '--key', keyFile], {
      env: env({ CUSTODY_PASSPHRASE: 'wrong' }),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`custody: wrong passphrase for ${keyFile}\n`);
    expect(fs.readdirSync(dir).sort()).toEqual(['ana.key', 'evidence.bin']);
  });

  it('no key, several keys, CUSTODY_KEY', async () => {
    const home = newHome();
    await expect(loadSigner(ctxFor(home), {})).rejects.toThrow(/no signing key/);
    const a = json(home, ['key', 'new', '--name', 'A', '--no-passphrase']).doc;
    expect((await loadSigner(ctxFor(home), {})).identity.keyid).toBe(a.keyid);
    const b = json(home, ['key', 'new', '--name', 'B', '--no-passphrase']).doc;
    const err = await loadSigner(ctxFor(home), {}).catch((e) => e);
    expect(err.code).toBe('USAGE');
    expect(err.message).toMatch(/2 keys in .*; choose one/);
    process.env.CUSTODY_KEY = b.keyid;
    try {
      expect((await loadSigner(ctxFor(home), {})).identity.name).toBe('B');
    } finally {
      delete process.env.CUSTODY_KEY;
    }
    expect(resolveKeyRef(ctxFor(home), 'A')).toBe(a.keyFile);
  });

  it('loadIdentityRef: a .pub file, a fingerprint prefix; short or unknown prefixes refused', () => {
    const home = newHome();
    const a = json(home, ['key', 'new', '--name', 'A', '--no-passphrase']).doc;
    expect(loadIdentityRef(ctxFor(home), a.pubFile).keyid).toBe(a.keyid);
    expect(loadIdentityRef(ctxFor(home), a.fingerprint.slice(0, 8)).name).toBe('A');
    expect(() => loadIdentityRef(ctxFor(home), a.fingerprint.slice(0, 6))).toThrow(/not a fingerprint/);
    expect(() => loadIdentityRef(ctxFor(home), '00000000')).toThrow(/no key with fingerprint/);
  });
});
