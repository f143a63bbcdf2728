/** `custody trust add|list|remove` through the built CLI, stored in the ledger's trust store. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';
import { publicKeyFile, signerFromSeed } from '../src/custody/identity.js';
import { publicKeyToSpkiPem } from '../src/custody/pem.js';
import { publicKeyToOpenSsh } from '../src/custody/openssh.js';
import { keyId, fingerprint } from '../src/custody/ed25519.js';
import { openLedger } from '../src/ledger/index.js';
import { buildProgram } from '../src/cli/main.js';

const dir = tempDir('custody-trust-');
const home = path.join(dir, 'home');
const ana = signerFromSeed(new Uint8Array(32).fill(31), { name: 'Ana Lima', org: 'Police Lab', role: 'examiner' }).identity;
const rui = signerFromSeed(new Uint8Array(32).fill(32), { name: 'Rui' }).identity;
const anaPub = path.join(dir, 'ana.pub');
fs.writeFileSync(anaPub, publicKeyFile(ana, '2026-01-01T00:00:00.000Z'));

const cli = (args: string[]) => runCli(['--home', home, ...args]);
const json = (args: string[]) => {
  const r = runCli(['--home', home, '--json', ...args]);
  return { ...r, doc: JSON.parse(r.stdout) };
};

describe('trust', () => {
  it('add prints the fingerprint and asks to confirm it out of band; adding again is harmless', () => {
    const r = cli(['trust', 'add', anaPub]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('trusted: Ana Lima, Police Lab, examiner');
    expect(r.stdout).toContain(`fingerprint  ${ana.fingerprint.match(/.{4}/g)!.join(' ')}`);
    expect(r.stdout).toMatch(/Confirm this fingerprint with the key owner out of band/);
    const again = json(['trust', 'add', anaPub]);
    expect(again.doc).toMatchObject({ ok: true, added: false, fingerprint: ana.fingerprint });
    const ledger = openLedger(home);
    try {
      expect(ledger.trustedPublicKeys()).toEqual([ana.publicKey]);
    } finally {
      ledger.close();
    }
  });

  it('a bare PEM (e.g. a bundle\'s sealer.pem) needs --name; an ssh line takes its comment', () => {
    const pem = path.join(dir, 'sealer.pem');
    fs.writeFileSync(pem, publicKeyToSpkiPem(rui.publicKey));
    const bare = cli(['trust', 'add', pem]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/^custody: .*sealer\.pem carries no name \(give --name <label>/);
    const named = json(['trust', 'add', pem, '--name', 'Rui, Foreign Lab']);
    expect(named.doc).toMatchObject({ added: true, name: 'Rui, Foreign Lab', label: 'Rui, Foreign Lab', keyid: rui.keyid });
    // openssl reads the same file as the same key
    expect(execFileSync('openssl', ['pkey', '-pubin', '-in', pem, '-pubout'], { encoding: 'utf8' })).toBe(fs.readFileSync(pem, 'utf8'));

    const ssh = path.join(dir, 'other.ssh.pub');
    const other = signerFromSeed(new Uint8Array(32).fill(33), { name: 'x' }).identity;
    fs.writeFileSync(ssh, publicKeyToOpenSsh(other.publicKey, 'carl@lab'));
    expect(json(['trust', 'add', ssh]).doc).toMatchObject({ added: true, name: 'carl@lab' });
  });

  it('list shows what was added; remove by a fingerprint prefix; removing again is NOT_FOUND', () => {
    const list = json(['trust', 'list']);
    expect(list.doc.keys.map((k: { fingerprint: string }) => k.fingerprint)).toEqual(expect.arrayContaining([ana.fingerprint, rui.fingerprint]));
    expect(cli(['trust', 'list']).stdout).toContain(ana.fingerprint);
    const removed = json(['trust', 'remove', rui.fingerprint.slice(0, 10)]);
    expect(removed.doc).toMatchObject({ ok: true, removed: { fingerprint: rui.fingerprint } });
    const again = cli(['trust', 'remove', rui.fingerprint]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^custody: no trusted key matches/);
    expect(json(['trust', 'list']).doc.keys.map((k: { keyid: string }) => k.keyid)).not.toContain(rui.keyid);
  });

  it('refuses a small-order key, a non-key file and a missing file: exit 2, one line', () => {
    const weak = new Uint8Array(32);
    weak[0] = 1;
    const weakPub = path.join(dir, 'weak.pub');
    fs.writeFileSync(
      weakPub,
      JSON.stringify({ type: 'custody-public-key', version: 1, name: 'Mallory', keyid: keyId(weak), fingerprint: fingerprint(weak), publicKey: Buffer.from(weak).toString('base64') }),
    );
    const notKey = path.join(dir, 'notes.txt');
    fs.writeFileSync(notKey, 'hello');
    const cases: [string, RegExp][] = [
      [weakPub, /^custody: refusing public key: it is a point of small order/],
      [notKey, /^custody: not a public key/],
      [path.join(dir, 'missing.pub'), /^custody: no such file/],
    ];
    for (const [file, re] of cases) {
      const r = cli(['trust', 'add', file]);
      expect(r.code, file).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('every trust subcommand has an example in its help', () => {
    const trust = buildProgram().commands.find((c) => c.name() === 'trust')!;
    for (const sub of ['add', 'list', 'remove']) {
      const cmd = trust.commands.find((c) => c.name() === sub)!;
      let help = '';
      cmd.configureOutput({ writeOut: (t) => (help += t) });
      cmd.outputHelp();
      expect(help, sub).toMatch(new RegExp(`Example:\\n {2}\\$ custody trust ${sub}`));
    }
  });
});
