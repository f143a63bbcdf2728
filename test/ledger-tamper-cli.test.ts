/**
 * Whoever can write ledger.db can insert rows without going through custody.
 * What the ledger says is re-checked on read: a trusted-key row whose
 * fingerprint is not its key's is never trusted.
 * The rows are written here with better-sqlite3 straight into the file.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePublicKeyFile } from '../src/custody/identity.js';
import { openLedger } from '../src/ledger/index.js';
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
const cli = (args: string[]) => runCli(args, { env: env() });
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

let dir: string;

function person(name: string): Person {
  const home = path.join(dir, name.toLowerCase());
  const r = cli(['--home', home, '--json', 'key', 'new', '--name', name, '--no-passphrase']);
  expect(r.code, r.stderr).toBe(0);
  const d = JSON.parse(r.stdout);
  return { name, home, keyid: d.keyid, fingerprint: d.fingerprint, keyFile: d.keyFile, pubFile: d.pubFile };
}

function seal(who: Person, caseId: string, out: string): void {
  const r = cli(['--home', who.home, 'seal', path.join(dir, 'evidence'), '--case', caseId, '--out', out, '--piece', '0']);
  expect(r.code, r.stderr).toBe(0);
}

/** Opens a home's ledger.db directly, bypassing custody. */
function rawLedger(home: string): Database.Database {
  return new Database(path.join(home, 'ledger.db'));
}

let alice: Person; // the examiner whose ledger is tampered with
let bob: Person; // a colleague alice trusts
let mallory: Person; // the outsider
let malloryBundle: string;
let malloryPub: Uint8Array;

beforeAll(() => {
  dir = tempDir('custody-ledger-tamper-');
  fs.mkdirSync(path.join(dir, 'evidence'));
  fs.writeFileSync(path.join(dir, 'evidence', 'disk.img'), Buffer.alloc(2000, 9));
  alice = person('Alice');
  bob = person('Bob');
  mallory = person('Mallory');
  malloryPub = parsePublicKeyFile(fs.readFileSync(mallory.pubFile)).publicKey;
  malloryBundle = path.join(dir, 'mallory.tar');
  seal(mallory, 'M-1', malloryBundle);
}, 120_000);

describe('a trusted-key row whose fingerprint is not its key is never trusted', () => {
  it('verify does not accept the outsider through it; trust list shows it damaged; transfer --to its prefix finds no key; remove clears it', () => {
    const home = path.join(dir, 'alice-trust');
    fs.cpSync(alice.home, home, { recursive: true });
    expect(cli(['--home', home, 'trust', 'add', bob.pubFile]).code).toBe(0);
    // Bob's confirmed fingerprint and name, Mallory's public key.
    const db = rawLedger(home);
    try {
      db.prepare('DELETE FROM trusted_keys WHERE fingerprint = ?').run(bob.fingerprint);
      db.prepare('INSERT INTO trusted_keys (fingerprint, keyid, public_key, name, added_at) VALUES (?, ?, ?, ?, ?)').run(
        bob.fingerprint,
        bob.keyid,
        Buffer.from(malloryPub),
        'Bob',
        '2026-11-29T10:00:00.000Z',
      );
    } finally {
      db.close();
    }

    const v = cli(['--home', home, '--json', 'verify', malloryBundle]);
    expect(v.code, v.stdout + v.stderr).toBe(1);
    expect(JSON.parse(v.stdout).error.code).toBe('UNTRUSTED_KEY');

    const list = cli(['--home', home, 'trust', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${bob.fingerprint} .*DAMAGED, not trusted: "Bob": its fingerprint does not match its public key`));
    expect(list.stderr).toContain(`custody: warning: ignoring the trusted key row ${bob.fingerprint}: its fingerprint does not match its public key (whose fingerprint is ${sha256(malloryPub)})`);
    const listJson = JSON.parse(cli(['--home', home, '--json', 'trust', 'list']).stdout);
    expect(listJson.keys).toEqual([]);
    expect(listJson.damaged).toEqual([expect.objectContaining({ fingerprint: bob.fingerprint, name: 'Bob', problem: expect.stringMatching(/does not match/) })]);

    const sealed = path.join(dir, 'alice-trust.tar');
    seal(alice, 'A-1', sealed);
    const t = cli(['--home', home, 'transfer', sealed, '--to', bob.fingerprint.slice(0, 8), '--reason', 'handover']);
    expect(t.code, t.stderr).toBe(2);
    expect(t.stderr).toContain(`ignoring the trusted key row ${bob.fingerprint}`);
    expect(t.stderr).toMatch(/custody: no key with fingerprint \w+ in .* or the trust store/);

    expect(cli(['--home', home, 'trust', 'remove', bob.fingerprint]).code).toBe(0);
    const after = cli(['--home', home, '--json', 'trust', 'list']);
    expect(JSON.parse(after.stdout)).toMatchObject({ keys: [], damaged: [] });
  });
});

describe('the trust store re-checks every row on read', () => {
  it('a weak key under its own fingerprint and a name with an escape sequence are damaged, never trusted, and shown escaped', () => {
    const home = path.join(dir, 'store-unit');
    const ledger = openLedger(home);
    const db = rawLedger(home);
    try {
      const identityPoint = new Uint8Array(32);
      identityPoint[0] = 1; // small order: every signature "verifies" under lax rules
      const ins = db.prepare('INSERT INTO trusted_keys (fingerprint, keyid, public_key, name, added_at) VALUES (?, ?, ?, ?, ?)');
      const weakFp = sha256(identityPoint);
      ins.run(weakFp, weakFp.slice(0, 16), Buffer.from(identityPoint), 'Weak', '2026-11-29T10:00:00.000Z');
      const escFp = sha256(malloryPub);
      ins.run(escFp, escFp.slice(0, 16), Buffer.from(malloryPub), 'Bob\u001b[2J', '2026-11-29T10:00:00.000Z');
      const { keys, damaged } = ledger.trustStore();
      expect(keys).toEqual([]);
      expect(ledger.trustedPublicKeys()).toEqual([]);
      expect(Object.fromEntries(damaged.map((d) => [d.fingerprint, d.problem]))).toEqual({
        [weakFp]: expect.stringMatching(/^its public key is unsafe/),
        [escFp]: expect.stringMatching(/^its name must be 1-256 printable characters/),
      });
      const list = cli(['--home', home, 'trust', 'list']);
      expect(list.stdout).toContain('"Bob\\u001b[2J"');
      expect(list.stdout).not.toContain('\u001b');
    } finally {
      db.close();
      ledger.close();
    }
  });
});
