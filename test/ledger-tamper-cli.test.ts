/**
 * Whoever can write ledger.db can insert rows without going through custody
 * (the triggers stop updates and deletes of records, not inserts). What the
 * ledger says is re-checked on read: a trusted-key row whose fingerprint is
 * not its key's is never trusted, and `log --case` shows [ok] only for
 * records whose signatures, chain and stored columns hold and that someone
 * the examiner trusts (or the examiner's own key) vouches for.
 * The rows are written here with better-sqlite3 straight into the file.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePublicKeyFile, signerFromSeed, type Signer } from '../src/custody/identity.js';
import { decryptKeyFile } from '../src/custody/keyfile.js';
import { makeRecord, partyFromIdentity, payloadDigest } from '../src/custody/record.js';
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

async function signerOf(p: Person): Promise<Signer> {
  const { seed, identity } = await decryptKeyFile(new Uint8Array(fs.readFileSync(p.keyFile)), null, p.keyFile);
  return signerFromSeed(seed, identity);
}

function seal(who: Person, caseId: string, out: string): void {
  const r = cli(['--home', who.home, 'seal', path.join(dir, 'evidence'), '--case', caseId, '--out', out, '--piece', '0']);
  expect(r.code, r.stderr).toBe(0);
}

/** Opens a home's ledger.db directly, bypassing custody. */
function rawLedger(home: string): Database.Database {
  return new Database(path.join(home, 'ledger.db'));
}

interface Injected {
  seq: number;
  action: 'seal' | 'transfer' | 'receive';
  payload: Uint8Array;
  envelope: Uint8Array;
  /** what the row's columns say (default: what the record says) */
  at?: string;
  signerKeyid?: string;
  payloadSha256?: string;
}

function insertRecord(db: Database.Database, digest: string, r: Injected & { recordAt: string; by: string }): void {
  db.prepare(
    'INSERT INTO records (bundle_digest, seq, action, signer_keyid, at, payload, envelope, payload_sha256, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(digest, r.seq, r.action, r.signerKeyid ?? r.by, r.at ?? r.recordAt, Buffer.from(r.payload), Buffer.from(r.envelope), r.payloadSha256 ?? sha256(r.payload), r.recordAt);
}

/** A whole bundle that custody never saw: a bundles row and its seal record, signed by `signer`. */
function injectFakeBundle(home: string, caseId: string, signer: Signer, name: string, columns: Partial<Injected> = {}): string {
  const digest = sha256(new TextEncoder().encode(`fake ${name}`));
  const at = '2026-11-29T10:00:00.000Z';
  const rec = makeRecord(signer, { bundleName: name, bundleDigest: digest, predicate: { seq: 0, prev: null, action: 'seal', at, by: partyFromIdentity(signer.identity) } });
  const db = rawLedger(home);
  try {
    db.prepare('INSERT INTO bundles (digest, name, path, state, case_id, created_at, updated_at) VALUES (?, ?, NULL, ?, ?, ?, ?)').run(digest, name, 'sealed', caseId, at, at);
    insertRecord(db, digest, { seq: 0, action: 'seal', ...rec, recordAt: at, by: signer.identity.keyid, ...columns });
  } finally {
    db.close();
  }
  return name;
}

function logCase(home: string, caseId: string) {
  const text = cli(['--home', home, 'log', '--case', caseId]);
  const json = cli(['--home', home, '--json', 'log', '--case', caseId]);
  return { text, json, doc: JSON.parse(json.stdout) as { ok: boolean; error?: { code: string; message: string }; records: Record<string, any>[] } };
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
        [escFp]: expect.stringMatching(/^its name contains a control character \(\\u001B\)/),
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

describe('log --case re-checks what the ledger says before showing [ok]', () => {
  it("a whole fake chain signed by an outsider's key shows not ok with the reason, beside the genuine bundle", async () => {
    const home = path.join(dir, 'alice-fake');
    fs.cpSync(alice.home, home, { recursive: true });
    seal({ ...alice, home }, 'C-1', path.join(dir, 'alice-fake.tar'));
    injectFakeBundle(home, 'C-1', await signerOf(mallory), 'fake-evidence');
    const { text, doc } = logCase(home, 'C-1');
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/0000 seal .* Alice {2}\[ok\]/);
    expect(text.stdout).toMatch(/0000 seal .* Mallory {2}\[FAIL: no record of this bundle is signed by your own key or a trusted key/);
    expect(text.stdout).not.toMatch(/Mallory {2}\[ok\]/);
    const fake = doc.records.find((r) => r.bundleName === 'fake-evidence')!;
    expect(fake).toMatchObject({ ok: false, signatureOk: true, message: expect.stringMatching(/nothing you hold vouches for these ledger rows/) });
    expect(doc.records.find((r) => r.bundleName !== 'fake-evidence')).toMatchObject({ ok: true, trusted: true });
    expect(doc.error).toMatchObject({ code: 'CHAIN_ERROR', message: expect.stringMatching(/^bundle fake-evidence: no record/) });
  });

  it('a record appended by someone outside the chain fails the chain rules', async () => {
    const home = path.join(dir, 'alice-append');
    fs.cpSync(alice.home, home, { recursive: true });
    seal({ ...alice, home }, 'C-2', path.join(dir, 'alice-append.tar'));
    const db = rawLedger(home);
    try {
      const seal0 = db.prepare("SELECT r.*, b.name FROM records r JOIN bundles b ON b.digest = r.bundle_digest WHERE b.case_id = 'C-2'").get() as { bundle_digest: string; payload: Buffer; name: string; at: string };
      const m = await signerOf(mallory);
      const at = new Date(Date.parse(seal0.at) + 1000).toISOString();
      const rec = makeRecord(m, {
        bundleName: seal0.name,
        bundleDigest: seal0.bundle_digest,
        predicate: { seq: 1, prev: payloadDigest(new Uint8Array(seal0.payload)), action: 'transfer', at, by: partyFromIdentity(m.identity), to: partyFromIdentity(m.identity), reason: 'mine now' },
      });
      insertRecord(db, seal0.bundle_digest, { seq: 1, action: 'transfer', ...rec, recordAt: at, by: m.identity.keyid });
    } finally {
      db.close();
    }
    const { text, doc } = logCase(home, 'C-2');
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/0000 seal .* Alice {2}\[ok\]/);
    expect(text.stdout).toMatch(/0001 transfer .*\[FAIL: transfer by someone other than the current custodian/);
    expect(doc.records[1]).toMatchObject({ ok: false, code: 'CHAIN_ERROR' });
  });

  it('ledger columns that disagree with the signed record (time, signer, payload hash, payload) are not ok, even for a record signed by your own key', async () => {
    const home = path.join(dir, 'alice-columns');
    fs.cpSync(alice.home, home, { recursive: true });
    expect(cli(['--home', home, 'case', 'new', 'C-3', '--title', 'columns']).code).toBe(0);
    const a = await signerOf(alice);
    injectFakeBundle(home, 'C-3', a, 'good-columns');
    injectFakeBundle(home, 'C-3', a, 'wrong-time', { at: '2020-01-01T00:00:00.000Z' });
    injectFakeBundle(home, 'C-3', a, 'wrong-signer', { signerKeyid: bob.keyid });
    injectFakeBundle(home, 'C-3', a, 'wrong-hash', { payloadSha256: '0'.repeat(64) });
    // A stored payload (and its hash column) that is not the payload the envelope signs.
    injectFakeBundle(home, 'C-3', a, 'wrong-payload', { payload: new TextEncoder().encode('{"not":"the signed payload"}') });
    const { text, doc } = logCase(home, 'C-3');
    expect(text.code).toBe(1);
    const byName = (n: string) => doc.records.find((r) => r.bundleName === n)!;
    expect(byName('good-columns')).toMatchObject({ ok: true });
    expect(byName('wrong-time')).toMatchObject({ ok: false, message: expect.stringMatching(/the ledger row says time 2020-01-01T00:00:00.000Z where the signed record says 2026-11-29T10:00:00.000Z/) });
    expect(byName('wrong-signer')).toMatchObject({ ok: false, message: expect.stringMatching(new RegExp(`signer key id ${bob.keyid}`)) });
    expect(byName('wrong-hash')).toMatchObject({ ok: false, message: expect.stringMatching(/payload hash is not the hash of the stored payload/) });
    expect(byName('wrong-payload')).toMatchObject({ ok: false, message: expect.stringMatching(/the stored payload is not the one its envelope carries/) });
  });
});
