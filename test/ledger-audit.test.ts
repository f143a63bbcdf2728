/**
 * The audit guarantees of DESIGN §5 checked with real SQL against the real
 * file: append-only triggers, the trust history, and all-or-nothing writes.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { CustodyError } from '../src/core/errors.js';
import { publicKeyFromSeed } from '../src/custody/ed25519.js';
import { openLedger, type Ledger, type TrustedKeyInput } from '../src/ledger/index.js';
import { tempDir } from './helpers/cli.js';
import { record, sealInput, sha256 } from './helpers/ledger-fixtures.js';

let home: string;
let ledger: Ledger;
let raw: Database.Database;

beforeEach(() => {
  home = path.join(tempDir(), 'home');
  ledger = openLedger(home);
  raw = new Database(path.join(home, 'ledger.db'));
});
afterEach(() => {
  raw.close();
  ledger.close();
});

function key(name = 'Examiner'): TrustedKeyInput {
  const publicKey = publicKeyFromSeed(new Uint8Array(randomBytes(32)));
  const fingerprint = sha256(publicKey);
  return { publicKey, fingerprint, keyid: fingerprint.slice(0, 16), name, org: 'BKA', role: 'examiner' };
}

function errorOf(fn: () => unknown): CustodyError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CustodyError) return e;
    throw e;
  }
  throw new Error('expected a CustodyError');
}

describe('append-only records (triggers, real SQL)', () => {
  beforeEach(() => ledger.recordSeal(sealInput()));

  it.each([
    ['UPDATE records SET payload = x\'00\''],
    ['UPDATE records SET at = \'2000-01-01T00:00:00.000Z\''],
    ['DELETE FROM records'],
  ])('refuses %s', (sql) => {
    expect(() => raw.prepare(sql).run()).toThrow(/append-only/);
    expect((raw.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n).toBe(1);
  });

  it('cannot delete a bundle that has records, nor its case (foreign keys)', () => {
    raw.pragma('foreign_keys = ON');
    expect(() => raw.prepare('DELETE FROM bundles').run()).toThrow(/FOREIGN KEY/);
    expect(() => raw.prepare('DELETE FROM cases').run()).toThrow(/FOREIGN KEY/);
  });

  it.each([false, true])('INSERT OR REPLACE and UPSERT cannot overwrite a record (recursive_triggers %s)', (recursive) => {
    // REPLACE deletes the old row without firing delete triggers unless recursive_triggers is on;
    // a BEFORE INSERT trigger guards that hole.
    const before = raw.prepare('SELECT * FROM records').get();
    raw.pragma(`recursive_triggers = ${recursive ? 'ON' : 'OFF'}`);
    const copy = "SELECT bundle_digest, seq, action, signer_keyid, at, x'01', envelope, payload_sha256, stored_at FROM records";
    expect(() => raw.prepare(`INSERT OR REPLACE INTO records ${copy}`).run()).toThrow(/append-only/);
    expect(() => raw.prepare(`REPLACE INTO records ${copy}`).run()).toThrow(/append-only/);
    expect(() => raw.prepare(`INSERT INTO records ${copy} WHERE true ON CONFLICT DO UPDATE SET payload = x'02'`).run()).toThrow(
      /append-only/,
    );
    expect(raw.prepare('SELECT * FROM records').get()).toEqual(before);
  });

  it.each([false, true])('INSERT OR REPLACE cannot rewrite the trust history or a trusted key (recursive_triggers %s)', (recursive) => {
    raw.pragma(`recursive_triggers = ${recursive ? 'ON' : 'OFF'}`);
    const k = key('Alice');
    ledger.addTrustedKey(k);
    expect(() =>
      raw.prepare("INSERT OR REPLACE INTO trust_events SELECT id, 'remove', fingerprint, public_key, name, label, at FROM trust_events").run(),
    ).toThrow(/append-only/);
    expect(() =>
      raw.prepare("INSERT OR REPLACE INTO trusted_keys SELECT fingerprint, keyid, public_key, 'Mallory', org, role, label, added_at FROM trusted_keys").run(),
    ).toThrow(/remove and add/);
    expect(ledger.listTrustedKeys().map((t) => t.name)).toEqual(['Alice']);
    expect(ledger.trustEvents().map((e) => e.event)).toEqual(['add']);
  });
});

describe('trust store', () => {
  it('adds once, lists, gives the raw keys, removes by prefix, and logs every change append-only', () => {
    const a = key('Alice');
    const b = key('Bob');
    expect(ledger.addTrustedKey(a)).toEqual({ added: true });
    expect(ledger.addTrustedKey(a)).toEqual({ added: false });
    ledger.addTrustedKey({ ...b, label: 'Vienna desk' });
    expect(ledger.listTrustedKeys().map((k) => k.name).sort()).toEqual(['Alice', 'Bob']);
    expect(ledger.trustedPublicKeys().map((k) => Buffer.from(k).toString('hex')).sort()).toEqual(
      [a, b].map((k) => Buffer.from(k.publicKey).toString('hex')).sort(),
    );
    const removed = ledger.removeTrustedKey(a.keyid.toUpperCase());
    expect(removed?.fingerprint).toBe(a.fingerprint);
    expect(removed?.publicKey).toEqual(a.publicKey);
    expect(ledger.removeTrustedKey(a.fingerprint)).toBeUndefined();
    expect(ledger.listTrustedKeys().map((k) => k.label)).toEqual(['Vienna desk']);
    expect(ledger.trustEvents().map((e) => [e.event, e.name])).toEqual([
      ['add', 'Alice'],
      ['add', 'Bob'],
      ['remove', 'Alice'],
    ]);
    expect(() => raw.prepare('DELETE FROM trust_events').run()).toThrow(/append-only/);
    expect(() => raw.prepare("UPDATE trust_events SET event = 'add'").run()).toThrow(/append-only/);
    expect(() => raw.prepare("UPDATE trusted_keys SET name = 'Mallory'").run()).toThrow(/remove and add/);
    // a removal done behind custody's back is still in the history
    raw.prepare('DELETE FROM trusted_keys').run();
    expect(ledger.trustEvents().at(-1)).toMatchObject({ event: 'remove', name: 'Bob', label: 'Vienna desk' });
  });

  it('refuses an ambiguous or too short prefix', () => {
    // two keys whose fingerprints share 8 hex digits would take 2^32 tries to find; insert via SQL instead
    const a = key('A');
    ledger.addTrustedKey(a);
    expect(errorOf(() => ledger.removeTrustedKey(a.fingerprint.slice(0, 7))).code).toBe('USAGE');
    expect(errorOf(() => ledger.removeTrustedKey('not-hex!')).code).toBe('USAGE');
    const twin = 'f'.repeat(64);
    const twin2 = 'f'.repeat(63) + 'e';
    const ins = raw.prepare("INSERT INTO trusted_keys VALUES (?, substr(?, 1, 16), randomblob(32), 'T', NULL, NULL, NULL, 'now')");
    ins.run(twin, twin);
    ins.run(twin2, twin2);
    const e = errorOf(() => ledger.removeTrustedKey('ffffffff'));
    expect(e.code).toBe('USAGE');
    expect(e.message).toMatch(/matches 2 trusted keys/);
    // Rows inserted behind custody's back whose fingerprint is not their key's: listed as damaged, never trusted.
    const store = ledger.trustStore();
    expect(store.keys).toHaveLength(1);
    expect(store.damaged.map((d) => d.fingerprint).sort()).toEqual([twin2, twin]);
    expect(ledger.listTrustedKeys()).toHaveLength(1);
  });

  it('recomputes the fingerprint instead of believing it', () => {
    const a = key();
    const b = key();
    expect(errorOf(() => ledger.addTrustedKey({ ...a, fingerprint: b.fingerprint, keyid: b.keyid })).code).toBe('BAD_KEY');
    expect(errorOf(() => ledger.addTrustedKey({ ...a, keyid: b.keyid })).code).toBe('BAD_KEY');
    expect(errorOf(() => ledger.addTrustedKey({ ...a, publicKey: a.publicKey.subarray(0, 31) })).code).toBe('BAD_KEY');
    expect(ledger.listTrustedKeys()).toEqual([]);
    expect(ledger.trustEvents()).toEqual([]);
  });

  it('never stores a weak key (small order, non-canonical), whoever calls it', () => {
    const identity = new Uint8Array(32);
    identity[0] = 1; // the identity point: small order, every signature "verifies" under lax rules
    const nonCanonical = new Uint8Array(32).fill(0xff);
    nonCanonical[31] = 0x7f; // y = 2^255 - 1 >= p
    for (const publicKey of [identity, nonCanonical]) {
      const fingerprint = sha256(publicKey);
      expect(errorOf(() => ledger.addTrustedKey({ publicKey, fingerprint, keyid: fingerprint.slice(0, 16), name: 'weak' })).code).toBe('BAD_KEY');
    }
    expect(ledger.listTrustedKeys()).toEqual([]);
  });
});

describe('one transaction per command', () => {
  it('a write that fails midway leaves none of its rows', () => {
    const s = sealInput();
    // the second file is bad: by then the case, bundle, item and first file are already inserted
    s.files.push({ itemId: 'disk01', path: 'data/disk01/b', size: -1, hashes: {} });
    expect(errorOf(() => ledger.recordSeal(s)).code).toBe('USAGE');
    for (const t of ['cases', 'bundles', 'items', 'files', 'file_hashes', 'records']) {
      expect((raw.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n, t).toBe(0);
    }
  });

  it('a record refused at the end (gap) rolls back the whole import', () => {
    const s = sealInput({ caseId: 'GAP' });
    expect(errorOf(() => ledger.importBundle({ ...s, records: [record(0, 'seal'), record(2, 'receive')] })).code).toBe('CHAIN_ERROR');
    expect(ledger.getCase('GAP')).toBeUndefined();
    expect((raw.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n).toBe(0);
  });
});
