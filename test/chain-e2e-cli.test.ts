/**
 * The whole chain of custody through the built CLI, with three real homes
 * (ledgers, key stores) and a real sealed bundle: seal → transfer → receive
 * → transfer → receive, then verify and log (bundle and ledger). Refusals
 * must exit 2 and leave the bundle byte-identical (sha256 before/after).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { transferBundle } from '../src/bundle/custody-ops.js';
import { openEnvelope } from '../src/custody/dsse.js';
import { signerFromSeed, parsePublicKeyFile } from '../src/custody/identity.js';
import { decryptKeyFile } from '../src/custody/keyfile.js';
import { BIN, runCli, tempDir } from './helpers/cli.js';

interface Person {
  name: string;
  home: string;
  key: string;
  pub: string;
  keyid: string;
}

const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function runAsync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function json(r: { stdout: string }): Record<string, any> {
  return JSON.parse(r.stdout) as Record<string, any>;
}

let dir: string;
let alice: Person;
let bob: Person;
let carol: Person;
let sealed: string; // a pristine sealed bundle (copy it before changing)

async function person(name: string): Promise<Person> {
  const home = path.join(dir, name.toLowerCase());
  const r = await runAsync(['--home', home, 'key', 'new', '--name', name, '--org', `${name} Org`, '--no-passphrase', '--json']);
  expect(r.code, r.stderr).toBe(0);
  const j = json(r);
  return { name, home, key: j.keyFile, pub: j.pubFile, keyid: j.keyid };
}

function copyOf(src: string, name: string): string {
  const dst = path.join(dir, name);
  fs.copyFileSync(src, dst);
  return dst;
}

beforeAll(async () => {
  dir = tempDir('custody-chain-e2e-');
  [alice, bob, carol] = await Promise.all([person('Alice'), person('Bob'), person('Carol')]);
  fs.mkdirSync(path.join(dir, 'evidence'));
  fs.writeFileSync(path.join(dir, 'evidence', 'disk.img'), Buffer.alloc(5000, 7));
  fs.writeFileSync(path.join(dir, 'evidence', 'notes.txt'), 'seized 2026-11-27\n');
  sealed = path.join(dir, 'sealed.tar');
  const r = runCli(['--home', alice.home, 'seal', path.join(dir, 'evidence'), '--case', 'C-77', '--out', sealed, '--piece', '0', '--location', 'Lyon', '--json']);
  expect(r.code, r.stderr).toBe(0);
}, 180_000);

describe('seal → transfer → receive → transfer → receive', () => {
  it('verifies and logs five records, in the bundle and in the receiver ledger', async () => {
    const b = copyOf(sealed, 'chain5.tar');
    const t1 = runCli(['--home', alice.home, 'transfer', b, '--to', bob.pub, '--reason', 'MLA request 117', '--authority', 'Prosecutor, Lyon', '--location', 'Lyon', '--condition', 'sealed', '--json']);
    expect(t1.code, t1.stderr).toBe(0);
    expect(json(t1)).toMatchObject({ ok: true, seq: 1, to: { name: 'Bob', keyid: bob.keyid }, bundleDigest: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const r1 = runCli(['--home', bob.home, 'receive', b, '--trust', alice.pub, '--condition', 'seal intact', '--location', 'Vienna', '--json']);
    expect(r1.code, r1.stderr).toBe(0);
    expect(json(r1)).toMatchObject({ ok: true, received: true, seq: 2, appended: true, verification: { verified: true, trusted: true } });
    // Bob is now the custodian (his home holds only his key: no --key needed).
    const t2 = runCli(['--home', bob.home, 'transfer', b, '--to', carol.keyid, '--reason', 'trial', '--json'], {});
    // carol's key id is not known in Bob's home: a fingerprint prefix must be resolvable there
    expect(t2.code).toBe(2);
    expect(t2.stdout).toContain('NOT_FOUND');
    const t2b = runCli(['--home', bob.home, 'transfer', b, '--to', carol.pub, '--reason', 'trial', '--json']);
    expect(t2b.code, t2b.stderr).toBe(0);
    const r2 = runCli(['--home', carol.home, 'receive', b, '--trust', alice.pub, '--condition', 'intact', '--json']);
    expect(r2.code, r2.stderr).toBe(0);

    const [v, log, logText, ledgerLog] = await Promise.all([
      runAsync(['--home', carol.home, 'verify', b, '--trust', alice.pub, '--json']),
      runAsync(['--home', carol.home, 'log', b, '--json']),
      runAsync(['--home', carol.home, 'log', b]),
      runAsync(['--home', carol.home, 'log', '--case', 'C-77', '--json']),
    ]);
    expect(v.code, v.stderr).toBe(0);
    expect(json(v).verdict.chain.custodian.name).toBe('Carol');
    expect(log.code, log.stderr).toBe(0);
    const recs = json(log).records as Record<string, any>[];
    expect(recs.map((r) => `${r.seq}-${r.action}`)).toEqual(['0-seal', '1-transfer', '2-receive', '3-transfer', '4-receive']);
    expect(recs.every((r) => r.ok === true && r.signatureOk === true)).toBe(true);
    expect(recs[1]).toMatchObject({ by: { name: 'Alice' }, to: { name: 'Bob' }, reason: 'MLA request 117', authority: 'Prosecutor, Lyon', condition: 'sealed' });
    expect(recs[2]).toMatchObject({ by: { name: 'Bob' }, condition: 'seal intact', location: 'Vienna', verification: { verified: true, trusted: true } });
    expect(recs[4]!.by.name).toBe('Carol');
    expect(logText.stdout).toContain('Alice, Alice Org → Bob, Bob Org');
    expect(logText.stdout).toContain('state: held by Carol');
    // The receiver's ledger imported the whole chain on receive.
    expect(ledgerLog.code, ledgerLog.stderr).toBe(0);
    const stored = json(ledgerLog).records as Record<string, any>[];
    expect(stored.map((r) => r.action)).toEqual(['seal', 'transfer', 'receive', 'transfer', 'receive']);
    expect(stored.every((r) => r.ok === true && r.bundleDigest === json(log).bundleDigest)).toBe(true);
    expect(new Set(stored.map((r) => r.payloadSha256))).toEqual(new Set(recs.map((r) => r.payloadSha256)));
    // Bob's ledger has what he saw: up to his transfer to Carol.
    const bobLog = runCli(['--home', bob.home, 'log', '--case', 'C-77', '--json']);
    expect((json(bobLog).records as unknown[]).length).toBe(4);
  }, 180_000);
});

describe('refusals leave the bundle byte-identical', () => {
  let pending: string; // Alice → Bob transfer pending
  // More copies of the bundle the first test handed over: each person works in homes of their own here, as a
  // shared ledger would (rightly) call these copies stale or forked before the refusal under test.
  const home = (who: Person, tag = 'refusals'): string[] => ['--home', path.join(dir, `${tag}-${who.name.toLowerCase()}`)];
  const key = (who: Person): string[] => ['--key', who.key];

  beforeAll(() => {
    pending = copyOf(sealed, 'pending.tar');
    const t = runCli([...home(alice), 'transfer', pending, '--to', bob.pub, '--reason', 'r', ...key(alice)]);
    expect(t.code, t.stderr).toBe(0);
  }, 180_000);

  it('refuses a transfer by a non-custodian, a second transfer while one is pending, and a receive by the wrong key', async () => {
    const fresh = copyOf(sealed, 'fresh.tar');
    const before = { fresh: sha(fresh), pending: sha(pending) };
    const [notCustodian, secondTransfer, wrongRecipient, noPending] = await Promise.all([
      runAsync([...home(bob), 'transfer', fresh, '--to', carol.pub, '--reason', 'grab', '--json', ...key(bob)]),
      runAsync([...home(alice), 'transfer', pending, '--to', carol.pub, '--reason', 'again', '--json', ...key(alice)]),
      runAsync([...home(carol), 'receive', pending, '--trust', alice.pub, '--json', ...key(carol)]),
      runAsync([...home(bob, 'refusals2'), 'receive', fresh, '--trust', alice.pub, '--json', ...key(bob)]),
    ]);
    for (const r of [notCustodian, secondTransfer, wrongRecipient, noPending]) {
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(json(r).error.code).toBe('NOT_CUSTODIAN');
    }
    expect(json(notCustodian).error.message).toMatch(/Bob .* does not hold custody.*custodian is Alice/);
    expect(json(secondTransfer).error.message).toMatch(/transfer 0001 to Bob .* still pending/);
    expect(json(wrongRecipient).error.message).toMatch(/names Bob .* as recipient, not Carol/);
    expect(json(noPending).error.message).toMatch(/no transfer is pending/);
    expect(sha(fresh)).toBe(before.fresh);
    expect(sha(pending)).toBe(before.pending);
    // Text mode: one custody: line on stderr, no stack trace.
    const text = runCli([...home(bob), 'transfer', fresh, '--to', carol.pub, '--reason', 'grab', ...key(bob)]);
    expect(text.code).toBe(2);
    expect(text.stderr.trim().split('\n')).toHaveLength(1);
    expect(text.stderr).toMatch(/^custody: /);
  }, 180_000);

  it('refuses a record dated before the last one (clock skew), and verify still passes', () => {
    const b = copyOf(sealed, 'skew.tar');
    const seed = decryptKeyFile(new Uint8Array(fs.readFileSync(alice.key)), null, alice.key);
    return seed.then(async ({ seed: s, identity }) => {
      const to = parsePublicKeyFile(fs.readFileSync(bob.pub));
      // Alice's clock was five minutes ahead when she transferred (within the skew verify allows).
      await transferBundle(b, { signer: signerFromSeed(s, identity), to, reason: 'r', now: new Date(Date.now() + 5 * 60_000) });
      const before = sha(b);
      const r = runCli([...home(bob, 'skew'), 'receive', b, '--trust', alice.pub, ...key(bob)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/custody: the local clock \(.*\) is earlier than the last custody record/);
      expect(sha(b)).toBe(before);
      expect(runCli(['verify', b, '--trust', alice.pub]).code).toBe(0);
    });
  }, 180_000);

  it('refuses a record dated a day ahead of the verifier clock (exit 1, with both dates)', () => {
    const b = copyOf(sealed, 'future.tar');
    const seed = decryptKeyFile(new Uint8Array(fs.readFileSync(alice.key)), null, alice.key);
    return seed.then(async ({ seed: s, identity }) => {
      const to = parsePublicKeyFile(fs.readFileSync(bob.pub));
      await transferBundle(b, { signer: signerFromSeed(s, identity), to, reason: 'r', now: new Date(Date.now() + 86_400_000) });
      const before = sha(b);
      const v = runCli(['verify', b, '--trust', alice.pub]);
      expect(v.code).toBe(1);
      expect(v.stderr).toMatch(/record 0001 is dated \S+, more than 10 minutes after this machine's clock \(\S+\)/);
      const r = runCli([...home(bob, 'skew'), 'receive', b, '--trust', alice.pub, ...key(bob)]);
      expect(r.code).toBe(1);
      expect(sha(b)).toBe(before);
    });
  }, 180_000);

  it('refuses to receive a bundle that does not verify (exit 1) or whose sealer is not trusted', async () => {
    const tampered = copyOf(pending, 'tampered.tar');
    const bytes = fs.readFileSync(tampered);
    const at = bytes.indexOf(Buffer.alloc(64, 7)); // inside disk.img
    bytes[at] = 8;
    fs.writeFileSync(tampered, bytes);
    const untrusted = copyOf(pending, 'untrusted.tar');
    const before = { t: sha(tampered), u: sha(untrusted) };
    const [bad, unt] = await Promise.all([
      runAsync([...home(bob, 'tampered'), 'receive', tampered, '--trust', alice.pub, '--json', ...key(bob)]),
      runAsync([...home(bob, 'untrusted'), 'receive', untrusted, '--json', ...key(bob)]),
    ]);
    expect(bad.code).toBe(1);
    expect(json(bad)).toMatchObject({ ok: false, received: false, error: { code: 'HASH_MISMATCH' } });
    expect(unt.code).toBe(1);
    expect(json(unt).error.code).toBe('UNTRUSTED_KEY');
    expect(sha(tampered)).toBe(before.t);
    expect(sha(untrusted)).toBe(before.u);
  }, 180_000);
});

describe('read-only bundle: receipt beside it', () => {
  it('writes the receipt, verify --receipt accepts it, a tampered receipt fails, and transfer --receipt carries it in', async () => {
    const b = copyOf(sealed, 'ro.tar');
    // Another copy of the bundle the tests above handed over: each copy gets homes of its own (a shared
    // ledger would rightly call this copy stale, or a fork).
    const aliceHome = path.join(dir, 'ro-alice');
    const bobHome = path.join(dir, 'ro-bob');
    expect(runCli(['--home', aliceHome, 'transfer', b, '--to', bob.pub, '--reason', 'r', '--key', alice.key]).code).toBe(0);
    fs.chmodSync(b, 0o444);
    const before = sha(b);
    const r = runCli(['--home', bobHome, 'receive', b, '--trust', alice.pub, '--condition', 'ok', '--json', '--key', bob.key]);
    expect(r.code, r.stderr).toBe(0);
    const j = json(r);
    expect(j).toMatchObject({ appended: false, seq: 2 });
    expect(sha(b)).toBe(before);
    const receipt = j.receipt as string;
    expect(receipt).toBe(`${b}.0002-receive.dsse.json`);
    const env = openEnvelope(new Uint8Array(fs.readFileSync(receipt)));
    expect(JSON.parse(Buffer.from(env.payload).toString()).predicate).toMatchObject({ seq: 2, action: 'receive', by: { name: 'Bob' } });

    const forged = path.join(dir, 'forged.json');
    const doc = JSON.parse(fs.readFileSync(receipt, 'utf8'));
    const payload = JSON.parse(Buffer.from(doc.payload, 'base64').toString());
    payload.predicate.condition = 'damaged';
    doc.payload = Buffer.from(JSON.stringify(payload)).toString('base64');
    fs.writeFileSync(forged, `${JSON.stringify(doc)}\n`); // the form custody writes: only the signed payload differs

    const [ok, without, bad, log] = await Promise.all([
      runAsync(['verify', b, '--trust', alice.pub, '--receipt', receipt, '--json']),
      runAsync(['verify', b, '--trust', alice.pub, '--json']),
      runAsync(['verify', b, '--trust', alice.pub, '--receipt', forged, '--json']),
      runAsync(['log', b, '--receipt', receipt, '--json']),
    ]);
    expect(ok.code, ok.stdout).toBe(0);
    expect(json(ok).verdict.chain.custodian.name).toBe('Bob');
    expect(json(without).verdict.chain.pendingTransfer.to.name).toBe('Bob');
    expect(bad.code).toBe(1);
    expect(json(bad).error.code).toBe('SIGNATURE_ERROR');
    expect((json(log).records as unknown[]).length).toBe(3);

    // A second receive is refused: Bob's ledger knows he received it (a stale copy), and without that
    // ledger the receipt file already there is not overwritten.
    const receiptBytes = fs.readFileSync(receipt);
    const again = runCli(['--home', bobHome, 'receive', b, '--trust', alice.pub, '--json', '--key', bob.key]);
    expect(again.code).toBe(2);
    expect(json(again).error.code).toBe('STALE_COPY');
    const elsewhere = runCli(['--home', path.join(dir, 'ro-bob-2'), 'receive', b, '--trust', alice.pub, '--json', '--key', bob.key]);
    expect(elsewhere.code).toBe(2);
    expect(json(elsewhere).error.code).toBe('EXISTS');
    expect(fs.readFileSync(receipt).equals(receiptBytes)).toBe(true);

    // Later, writable again: Bob hands on, carrying his receipt into the bundle in the same append.
    fs.chmodSync(b, 0o644);
    const refused = runCli(['--home', bobHome, 'transfer', b, '--to', carol.pub, '--reason', 'on', '--key', bob.key]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--receipt');
    const t = runCli(['--home', bobHome, 'transfer', b, '--to', carol.pub, '--reason', 'on', '--receipt', receipt, '--json', '--key', bob.key]);
    expect(t.code, t.stderr).toBe(0);
    expect(json(t).seq).toBe(3);
    const v = runCli(['verify', b, '--trust', alice.pub, '--json']);
    expect(v.code, v.stdout).toBe(0);
    expect(json(v).verdict.chain.records.map((x: { action: string }) => x.action)).toEqual(['seal', 'transfer', 'receive', 'transfer']);
  }, 180_000);
});

describe('log', () => {
  it('prints what it can of a broken chain and exits 1', () => {
    const b = copyOf(sealed, 'broken.tar');
    expect(runCli(['--home', path.join(dir, 'broken-alice'), 'transfer', b, '--to', bob.pub, '--reason', 'original reason', '--key', alice.key]).code).toBe(0);
    const bytes = fs.readFileSync(b);
    // Flip one byte of the transfer's signature inside the appended record (base64 "sig" value).
    const rec = bytes.lastIndexOf(Buffer.from('"sig":"'));
    expect(rec).toBeGreaterThan(0);
    const i = rec + 10;
    bytes[i] = bytes[i] === 0x41 ? 0x42 : 0x41;
    fs.writeFileSync(b, bytes);
    const r = runCli(['log', b, '--json']);
    expect(r.code).toBe(1);
    const j = json(r);
    expect(j.ok).toBe(false);
    expect(j.error.code).toBe('SIGNATURE_ERROR');
    expect(j.records[0]).toMatchObject({ action: 'seal', ok: true });
    expect(j.records[1]).toMatchObject({ seq: 1, ok: false, signatureOk: false });
    const t = runCli(['log', b]);
    expect(t.code).toBe(1);
    expect(t.stdout).toContain('0000 seal');
    expect(t.stdout).toContain('FAIL');
    expect(t.stderr).toMatch(/^custody: the signature of record 0001/);
  }, 180_000);

  it('needs a bundle or --case, and every command has an example in its help', async () => {
    const [none, unknownCase, ...helps] = await Promise.all([
      runAsync(['log']),
      runAsync(['--home', alice.home, 'log', '--case', 'NOPE-1']),
      ...['transfer', 'receive', 'log'].map((c) => runAsync([c, '--help'])),
    ]);
    expect(none.code).toBe(2);
    expect(unknownCase.code).toBe(2);
    expect(unknownCase.stderr).toMatch(/^custody: no case NOPE-1/);
    for (const h of helps) expect(h.stdout).toMatch(/Example:\n {2}\$ custody (transfer|receive|log) /);
  }, 180_000);
});
