/**
 * A key reference that looks like hex (a key id or fingerprint, whole or a
 * prefix, with or without separators) names a key in the key stores, never a
 * file: a file planted in the working directory under such a name must not
 * become the trusted sealer, the recipient of a transfer or the signing key.
 * A file is named as a path (./3f2a9c0d).
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeContext } from '../src/cli/context.js';
import { hexKeyRef } from '../src/cli/key-ref.js';
import { loadIdentityRef } from '../src/cli/keys.js';
import { groupedFingerprint } from '../src/custody/ed25519.js';
import { runCli, tempDir } from './helpers/cli.js';

interface Person {
  name: string;
  home: string;
  keyid: string;
  fingerprint: string;
  keyFile: string;
  pubFile: string;
}

const env = (): Record<string, string> => {
  const e = { ...(process.env as Record<string, string>) };
  for (const k of ['CUSTODY_PASSPHRASE', 'CUSTODY_KEY', 'CUSTODY_HOME']) delete e[k];
  return e;
};

let dir: string;
let plant: string; // the working directory holding the planted files
let alice: Person; // the examiner running the commands
let bob: Person; // a colleague in alice's trust store
let mallory: Person; // the outsider who planted the files
let aliceBundle: string;
let malloryBundle: string;

function cli(args: string[], cwd = plant) {
  return runCli(args, { cwd, env: env() });
}

function person(name: string): Person {
  const home = path.join(dir, name.toLowerCase());
  const r = cli(['--home', home, '--json', 'key', 'new', '--name', name, '--no-passphrase']);
  expect(r.code, r.stderr).toBe(0);
  const d = JSON.parse(r.stdout);
  return { name, home, keyid: d.keyid, fingerprint: d.fingerprint, keyFile: d.keyFile, pubFile: d.pubFile };
}

function seal(who: Person, out: string): void {
  const r = cli(['--home', who.home, 'seal', path.join(dir, 'evidence'), '--case', 'K-1', '--out', out, '--piece', '0']);
  expect(r.code, r.stderr).toBe(0);
}

function copyOf(src: string, name: string): string {
  const dst = path.join(dir, name);
  fs.copyFileSync(src, dst);
  return dst;
}

beforeAll(() => {
  dir = tempDir('custody-keyrefs-');
  plant = path.join(dir, 'plant');
  fs.mkdirSync(plant);
  fs.mkdirSync(path.join(dir, 'evidence'));
  fs.writeFileSync(path.join(dir, 'evidence', 'disk.img'), Buffer.alloc(3000, 5));
  alice = person('Alice');
  bob = person('Bob');
  mallory = person('Mallory');
  const t = cli(['--home', alice.home, 'trust', 'add', bob.pubFile]);
  expect(t.code, t.stderr).toBe(0);
  aliceBundle = path.join(dir, 'alice.tar');
  malloryBundle = path.join(dir, 'mallory.tar');
  seal(alice, aliceBundle);
  seal(mallory, malloryBundle);
  // Mallory's public key, planted under the name of Bob's key id prefix; her secret key under Alice's.
  fs.copyFileSync(mallory.pubFile, path.join(plant, bob.fingerprint.slice(0, 8)));
  fs.copyFileSync(mallory.pubFile, path.join(plant, bob.fingerprint.slice(0, 16)));
  fs.copyFileSync(mallory.keyFile, path.join(plant, alice.keyid));
  fs.chmodSync(path.join(plant, alice.keyid), 0o600);
}, 120_000);

describe('a hex-looking key reference is looked up in the key stores, never as a file', () => {
  it('verify --trust <prefix> does not trust a planted file of that name; --trust ./<prefix> does', () => {
    for (const prefix of [bob.fingerprint.slice(0, 8), bob.fingerprint.slice(0, 16)]) {
      expect(fs.existsSync(path.join(plant, prefix))).toBe(true);
      // A prefix is never a trust anchor (DESIGN §2), and never read as the planted file either.
      const r = cli(['--home', alice.home, '--json', 'verify', malloryBundle, '--trust', prefix]);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'USAGE', message: expect.stringMatching(/never makes one trusted/) });
    }
    // Named as a path, the file is what the user means.
    const asFile = cli(['--home', alice.home, '--json', 'verify', malloryBundle, '--trust', `./${bob.fingerprint.slice(0, 8)}`]);
    expect(asFile.code, asFile.stdout + asFile.stderr).toBe(0);
  });

  it('transfer --to <prefix> hands the bundle to the key in the trust store, not to a planted file; --to ./<prefix> names the file', () => {
    const b1 = copyOf(aliceBundle, 'to-prefix.tar');
    const r = cli(['--home', alice.home, '--json', 'transfer', b1, '--to', bob.fingerprint.slice(0, 8), '--reason', 'lab handover']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).to).toMatchObject({ name: 'Bob', keyid: bob.keyid });
    const b2 = copyOf(aliceBundle, 'to-file.tar');
    // A second copy of the same sealed bundle: the ledger names it stale, so it is sent on with --allow-fork.
    const f = cli(['--home', alice.home, '--json', 'transfer', b2, '--to', `./${bob.fingerprint.slice(0, 8)}`, '--reason', 'lab handover', '--allow-fork']);
    expect(f.code, f.stderr).toBe(0);
    expect(JSON.parse(f.stdout).to).toMatchObject({ name: 'Mallory', keyid: mallory.keyid });
  });

  it('--key <key id> signs with the home key, not with a planted secret key of that name', () => {
    expect(fs.existsSync(path.join(plant, alice.keyid))).toBe(true);
    const out = path.join(dir, 'by-keyid.tar');
    const r = cli(['--home', alice.home, '--json', 'seal', path.join(dir, 'evidence'), '--case', 'K-2', '--out', out, '--piece', '0', '--key', alice.keyid]);
    expect(r.code, r.stderr).toBe(0);
    const lg = cli(['--home', alice.home, '--json', 'log', out]);
    expect(lg.code, lg.stderr).toBe(0);
    expect(JSON.parse(lg.stdout).records[0].by).toMatchObject({ name: 'Alice', keyid: alice.keyid });
    const show = cli(['--home', alice.home, '--json', 'key', 'show', alice.keyid.slice(0, 8)]);
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout).key).toMatchObject({ name: 'Alice', keyid: alice.keyid });
  });

  it('a hex reference that matches no key is NOT_FOUND (exit 2, one line) even when a file has that name, and says to write ./<name>', () => {
    fs.writeFileSync(path.join(plant, 'deadbeef'), fs.readFileSync(mallory.pubFile));
    const r = cli(['--home', alice.home, 'key', 'show', 'deadbeef']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^custody: no key "deadbeef": .*\.\/deadbeef/);
  });

  it('a whole fingerprint with spaces, colons or dashes names the key too', () => {
    const ctx = makeContext({ home: alice.home, quiet: true });
    const fp = bob.fingerprint;
    for (const ref of [groupedFingerprint(fp), fp.toUpperCase().match(/.{2}/g)!.join(':'), fp.match(/.{4}/g)!.join('-')]) {
      expect(loadIdentityRef(ctx, ref).keyid, ref).toBe(bob.keyid);
    }
  });

  it('classifies references: hex (any case, or 64 digits with separators) vs anything else', () => {
    expect(hexKeyRef('3F2A9C0D')).toBe('3f2a9c0d');
    expect(hexKeyRef('3f2a 9c0d')).toBeUndefined(); // separators only in a whole fingerprint
    expect(hexKeyRef(`${'ab'.repeat(31)}:cd`)).toBe('ab'.repeat(31) + 'cd');
    for (const notHex of ['./3f2a9c0d', '3f2a9c0d.pub', 'keys/3f2a9c0d', 'Ana Lima', '']) expect(hexKeyRef(notHex), notHex).toBeUndefined();
  });
});
