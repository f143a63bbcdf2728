/** The ledger's methods against a real ledger.db in a temp dir. */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { CustodyError } from '../src/core/errors.js';
import { openLedger, SCHEMA_VERSION, type Ledger } from '../src/ledger/index.js';
import { tempDir } from './helpers/cli.js';
import { randomDigest, record, sealInput, sha256 } from './helpers/ledger-fixtures.js';

let home: string;
let ledger: Ledger;

beforeEach(() => {
  home = path.join(tempDir(), 'home');
  ledger = openLedger(home);
});
afterEach(() => ledger.close());

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof CustodyError) return e.code;
    throw e;
  }
  throw new Error('expected a CustodyError');
}

describe('openLedger', () => {
  it('creates home 0700 and ledger.db 0600 in WAL mode at the current schema version', () => {
    expect(fs.statSync(home).mode & 0o777).toBe(0o700);
    const file = path.join(home, 'ledger.db');
    expect(ledger.file).toBe(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const tables = (raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(['bundles', 'cases', 'file_hashes', 'files', 'items', 'records', 'trust_events', 'trusted_keys']);
    raw.close();
  });

  it('reopens an existing ledger without re-running migrations and keeps its rows', () => {
    ledger.createCase({ id: 'C-1', title: 'first' });
    ledger.close();
    ledger = openLedger(home);
    expect(ledger.listCases().map((c) => c.id)).toEqual(['C-1']);
  });
});

describe('cases', () => {
  it('creates, refuses a duplicate id quietly, lists with bundle counts', () => {
    expect(ledger.createCase({ id: '2026-041', title: 'Fraud at ACME', authority: 'Prosecutor, Vienna' })).toEqual({ created: true });
    expect(ledger.createCase({ id: '2026-041', title: 'other' })).toEqual({ created: false });
    expect(ledger.getCase('2026-041')).toMatchObject({ id: '2026-041', title: 'Fraud at ACME', authority: 'Prosecutor, Vienna', bundles: 0 });
    ledger.recordSeal(sealInput());
    expect(ledger.getCase('2026-041')?.bundles).toBe(1);
    expect(ledger.getCase('nope')).toBeUndefined();
  });

  it('ensureCase creates a case without a title once', () => {
    expect(ledger.ensureCase('X-9')).toEqual({ created: true });
    expect(ledger.ensureCase('X-9')).toEqual({ created: false });
    const c = ledger.getCase('X-9')!;
    expect(c.title).toBeUndefined();
  });

  it.each(['', '-rf', '../etc', 'a/b', 'a b', 'x'.repeat(129), 'ümlaut', 'a\nb', '.hidden'])('refuses the case id %j', (id) => {
    expect(codeOf(() => ledger.createCase({ id, title: 't' }))).toBe('USAGE');
    expect(codeOf(() => ledger.ensureCase(id))).toBe('USAGE');
  });

  it('refuses a title with control characters (terminal escape injection)', () => {
    expect(codeOf(() => ledger.createCase({ id: 'ok', title: 'x\u001b[2Jy' }))).toBe('USAGE');
    expect(codeOf(() => ledger.createCase({ id: 'ok', title: 'x\u009b2Jy' }))).toBe('USAGE'); // C1 CSI
    expect(codeOf(() => ledger.createCase({ id: 'ok', title: 'x\u2028y' }))).toBe('USAGE');
    expect(ledger.listCases()).toEqual([]);
  });
});

describe('seal, transfer, receive', () => {
  it('recordSeal stores case, items, files with hashes, bundle and seal record', () => {
    const s = sealInput();
    ledger.recordSeal(s);
    expect(ledger.getBundle(s.bundleDigest)).toMatchObject({ name: s.bundleName, path: s.path, state: 'sealed', caseId: '2026-041', records: 1 });
    expect(ledger.items(s.bundleDigest)).toEqual([
      { bundleDigest: s.bundleDigest, id: 'disk01', description: 'Laptop SSD', details: { source: 'Samsung 870', serial: 'S5X' } },
    ]);
    const [f] = ledger.files(s.bundleDigest);
    expect(f).toMatchObject({ itemId: 'disk01', path: 'data/disk01/image.dd', size: 1234, hashes: s.files[0]!.hashes, pieceCount: 1 });
    const [r] = ledger.records({ bundleDigest: s.bundleDigest });
    expect(r!.payload).toEqual(s.record.payload);
    expect(r!.envelope).toEqual(s.record.envelope);
    expect(r!.payloadSha256).toBe(sha256(s.record.payload));
    expect(ledger.findFilesByHash(s.files[0]!.hashes.sha256!.toUpperCase()).map((x) => x.bundleDigest)).toEqual([s.bundleDigest]);
  });

  it('recordCustodyRecord appends in order and moves the state', () => {
    const s = sealInput();
    ledger.recordSeal(s);
    ledger.recordCustodyRecord({ bundleDigest: s.bundleDigest, record: record(1, 'transfer') });
    expect(ledger.getBundle(s.bundleDigest)?.state).toBe('in transit');
    ledger.recordCustodyRecord({ bundleDigest: s.bundleDigest, record: record(2, 'receive'), path: '/moved/b.tar' });
    expect(ledger.getBundle(s.bundleDigest)).toMatchObject({ state: 'received', path: '/moved/b.tar', records: 3 });
    expect(ledger.records({ bundleDigest: s.bundleDigest }).map((r) => [r.seq, r.action])).toEqual([
      [0, 'seal'],
      [1, 'transfer'],
      [2, 'receive'],
    ]);
  });

  it('the same record twice is a no-op; a different one at the same seq is a fork (CHAIN_ERROR)', () => {
    const s = sealInput();
    ledger.recordSeal(s);
    expect(ledger.recordCustodyRecord({ bundleDigest: s.bundleDigest, record: record(1, 'transfer') })).toEqual({ added: true });
    expect(ledger.recordCustodyRecord({ bundleDigest: s.bundleDigest, record: record(1, 'transfer') })).toEqual({ added: false });
    const e = (() => {
      try {
        ledger.recordCustodyRecord({ bundleDigest: s.bundleDigest, record: record(1, 'transfer', 'other recipient') });
      } catch (err) {
        return err as CustodyError;
      }
      return undefined;
    })();
    expect(e?.code).toBe('CHAIN_ERROR');
    expect(e?.message).toMatch(/^fork: .*different record 1/);
    expect(ledger.records({ bundleDigest: s.bundleDigest })).toHaveLength(2);
  });

  it('refuses a gap in seq, a seal that is not seq 0, and a record for an unknown bundle', () => {
    const s = sealInput();
    ledger.recordSeal(s);
    expect(codeOf(() => ledger.recordCustodyRecord({ bundleDigest: s.bundleDigest, record: record(2, 'transfer') }))).toBe('CHAIN_ERROR');
    expect(codeOf(() => ledger.recordCustodyRecord({ bundleDigest: s.bundleDigest, record: record(1, 'seal') }))).toBe('CHAIN_ERROR');
    expect(codeOf(() => ledger.recordCustodyRecord({ bundleDigest: randomDigest(), record: record(1, 'transfer') }))).toBe('NOT_FOUND');
    expect(ledger.records({ bundleDigest: s.bundleDigest })).toHaveLength(1);
  });

  it('refuses malformed inputs before they reach SQL', () => {
    expect(codeOf(() => ledger.recordSeal(sealInput({ bundleDigest: 'ABC' })))).toBe('USAGE');
    expect(codeOf(() => ledger.recordSeal(sealInput({ record: { ...record(0, 'seal'), signerKeyid: 'zz' } })))).toBe('USAGE');
    expect(codeOf(() => ledger.recordSeal(sealInput({ record: { ...record(0, 'seal'), at: 'yesterday' } })))).toBe('USAGE');
    const badFile = sealInput();
    badFile.files[0]!.itemId = 'ghost';
    expect(codeOf(() => ledger.recordSeal(badFile))).toBe('USAGE');
    expect(ledger.bundles()).toEqual([]);
    expect(ledger.listCases()).toEqual([]);
  });

  it('records({caseId}) lists bundle by bundle in seal order, each chain by seq', () => {
    const a = sealInput({ record: record(0, 'seal', 'a', '2026-01-02T00:00:00.000Z') });
    const b = sealInput({ record: record(0, 'seal', 'b', '2026-01-01T00:00:00.000Z') });
    const other = sealInput({ caseId: 'OTHER' });
    ledger.recordSeal(a);
    ledger.recordSeal(b);
    ledger.recordSeal(other);
    ledger.recordCustodyRecord({ bundleDigest: a.bundleDigest, record: record(1, 'transfer', 'a') });
    ledger.recordCustodyRecord({ bundleDigest: b.bundleDigest, record: record(1, 'transfer', 'b') });
    const got = ledger.records({ caseId: '2026-041' }).map((r) => [r.bundleDigest, r.seq]);
    expect(got).toEqual([
      [b.bundleDigest, 0],
      [b.bundleDigest, 1],
      [a.bundleDigest, 0],
      [a.bundleDigest, 1],
    ]);
    expect(ledger.records()).toHaveLength(5);
    expect(ledger.bundles({ caseId: 'OTHER' }).map((x) => x.digest)).toEqual([other.bundleDigest]);
  });

  it('updateBundlePath moves the last known path', () => {
    const s = sealInput();
    ledger.recordSeal(s);
    ledger.updateBundlePath(s.bundleDigest, '/mnt/usb/x.tar');
    expect(ledger.getBundle(s.bundleDigest)?.path).toBe('/mnt/usb/x.tar');
    expect(codeOf(() => ledger.updateBundlePath(randomDigest(), '/x'))).toBe('NOT_FOUND');
  });
});

describe('importBundle (receive)', () => {
  function chain(salt = ''): ReturnType<typeof record>[] {
    return [record(0, 'seal', salt), record(1, 'transfer', salt), record(2, 'receive', salt)];
  }

  it('imports case, items, files and every record; re-importing is a no-op', () => {
    const s = sealInput({ caseId: 'MLA-2026-7' });
    const input = { ...s, caseTitle: 'Request from Vienna', records: chain().reverse() };
    expect(ledger.importBundle(input)).toEqual({ bundleAdded: true, recordsAdded: 3 });
    expect(ledger.importBundle(input)).toEqual({ bundleAdded: false, recordsAdded: 0 });
    expect(ledger.getCase('MLA-2026-7')).toMatchObject({ title: 'Request from Vienna', bundles: 1 });
    expect(ledger.getBundle(s.bundleDigest)).toMatchObject({ state: 'received', records: 3 });
    expect(ledger.files(s.bundleDigest)).toHaveLength(1);
    expect(ledger.records({ caseId: 'MLA-2026-7' }).map((r) => r.action)).toEqual(['seal', 'transfer', 'receive']);
  });

  it('a longer chain later adds only the new records', () => {
    const s = sealInput();
    ledger.recordSeal(s);
    const r = ledger.importBundle({ ...s, records: [record(0, 'seal'), record(1, 'transfer')] });
    expect(r).toEqual({ bundleAdded: false, recordsAdded: 1 });
    expect(ledger.getBundle(s.bundleDigest)?.state).toBe('in transit');
  });

  it('a forked chain is refused and leaves none of the import', () => {
    const s = sealInput();
    ledger.importBundle({ ...s, records: chain('genuine') });
    const forked = [record(0, 'seal', 'genuine'), record(1, 'transfer', 'genuine'), record(2, 'receive', 'forged')];
    const other = sealInput({ caseId: 'NEW-CASE' });
    expect(codeOf(() => ledger.importBundle({ ...s, records: [...forked, record(3, 'transfer', 'x')] }))).toBe('CHAIN_ERROR');
    expect(ledger.records({ bundleDigest: s.bundleDigest })).toHaveLength(3);
    // a fork in a bundle that is new to this ledger leaves no case, bundle or item behind
    expect(codeOf(() => ledger.importBundle({ ...other, records: [record(0, 'seal'), record(0, 'seal', 'y')] }))).toBe('CHAIN_ERROR');
    expect(ledger.getCase('NEW-CASE')).toBeUndefined();
    expect(ledger.getBundle(other.bundleDigest)).toBeUndefined();
  });

  it('evidence that breaks the ledger rules is MALFORMED_BUNDLE, not a usage error', () => {
    expect(codeOf(() => ledger.importBundle({ ...sealInput({ caseId: '../../etc' }), records: chain() }))).toBe('MALFORMED_BUNDLE');
    expect(codeOf(() => ledger.importBundle({ ...sealInput(), records: [] }))).toBe('MALFORMED_BUNDLE');
    expect(ledger.listCases()).toEqual([]);
  });
});
