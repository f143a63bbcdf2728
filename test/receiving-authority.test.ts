/**
 * The receiving authority's side (DESIGN §2): trust from a fingerprint read
 * out in a letter of request, the examiner's own keys trusted for their own
 * bundles, and a ledger that knows more than the copy in hand — a stale copy
 * is named, a fork (two copies of one sealed bundle handed over separately)
 * does not verify, and neither is extended without --allow-fork. Every person,
 * and every copy, has a home of its own.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';

interface Person {
  home: string;
  pub: string;
  key: string;
  keyid: string;
  fingerprint: string;
}

let dir: string;
let alice: Person;
let bob: Person;
let carol: Person;
let sealed: string;

const sha = (f: string): string => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
const json = (r: { stdout: string }) => JSON.parse(r.stdout) as Record<string, any>;
const copy = (name: string, from = sealed): string => {
  const to = path.join(dir, name);
  fs.copyFileSync(from, to);
  return to;
};
/** The fingerprint as a person reads it out: groups of four, upper case, spaces or colons. */
const readOut = (fp: string, sep = ' '): string => fp.toUpperCase().match(/.{4}/g)!.join(sep);

function person(name: string): Person {
  const home = path.join(dir, name.toLowerCase());
  const r = runCli(['--home', home, '--json', 'key', 'new', '--name', name, '--no-passphrase']);
  expect(r.code, r.stderr).toBe(0);
  const j = json(r);
  return { home, pub: j.pubFile, key: j.keyFile, keyid: j.keyid, fingerprint: j.fingerprint };
}

beforeAll(() => {
  dir = tempDir();
  alice = person('Alice');
  bob = person('Bob');
  carol = person('Carol');
  fs.mkdirSync(path.join(dir, 'ev'));
  fs.writeFileSync(path.join(dir, 'ev', 'disk.dd'), Buffer.alloc(300_000, 9));
  sealed = path.join(dir, 'sealed.tar');
  const s = runCli(['--home', alice.home, 'seal', path.join(dir, 'ev', 'disk.dd'), '--case', 'MLA-7', '--out', sealed]);
  expect(s.code, s.stderr).toBe(0);
});

describe('trust from a fingerprint read out', () => {
  it("the examiner's own bundle verifies in the examiner's own home: trusted: own key", () => {
    const v = runCli(['--home', alice.home, 'verify', sealed]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/sealer {8}Alice \(key id [0-9a-f]{16}\), trusted: own key/);
    expect(json(runCli(['--home', alice.home, '--json', 'verify', sealed])).verdict.sealer.trustedAs).toBe('own key');
  });

  it('--trust takes all 64 digits as read out (any case, spaces or colons) and checks them against the sealer key', () => {
    for (const fp of [readOut(alice.fingerprint), readOut(alice.fingerprint, ':'), alice.fingerprint]) {
      const v = runCli(['--home', bob.home, 'verify', sealed, '--trust', fp]);
      expect(v.code, v.stderr).toBe(0);
      expect(v.stdout).toMatch(/trusted: fingerprint given with --trust/);
    }
    const wrong = runCli(['--home', bob.home, '--json', 'verify', sealed, '--trust', readOut(carol.fingerprint)]);
    expect(wrong.code).toBe(1);
    expect(json(wrong).error.code).toBe('UNTRUSTED_KEY');
    expect(json(wrong).verdict.failedCheck).toBe('seal.trust');
  });

  it('refuses a 16-digit key id as a trust anchor, with a hint', () => {
    const v = runCli(['--home', bob.home, 'verify', sealed, '--trust', alice.keyid]);
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/^custody: --trust [0-9a-f]{16}: a key id or fingerprint prefix names a key but never makes one trusted \(give all 64 hex digits/);
  });

  it('trust add --from <bundle> --fingerprint imports the sealer key only when the fingerprint matches, named by the seal record', () => {
    const home = path.join(dir, 'authority-x');
    const bad = runCli(['--home', home, 'trust', 'add', '--from', sealed, '--fingerprint', readOut(bob.fingerprint)]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/has fingerprint [0-9a-f]{64}, not [0-9a-f]{64}: not trusted/);
    expect(runCli(['--home', home, 'verify', sealed]).code).toBe(1);
    const ok = runCli(['--home', home, '--json', 'trust', 'add', '--from', sealed, '--fingerprint', readOut(alice.fingerprint, ':')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(json(ok)).toMatchObject({ added: true, name: 'Alice', fingerprint: alice.fingerprint });
    expect(runCli(['--home', home, 'verify', sealed]).code).toBe(0);
  });
});

describe('a ledger that knows more than the copy in hand', () => {
  let a: string; // the copy handed to Bob
  let a0: string; // the same copy, kept before Bob received it
  let b: string; // a second copy of the same sealed bundle
  let receipt: string;

  beforeAll(() => {
    a = copy('copy-a.tar');
    b = copy('copy-b.tar');
    const t = runCli(['--home', alice.home, 'transfer', a, '--to', bob.pub, '--reason', 'MLA request 7']);
    expect(t.code, t.stderr).toBe(0);
    a0 = copy('copy-a0.tar', a);
    receipt = path.join(dir, 'receipt-for-alice.dsse.json');
    const r = runCli(['--home', bob.home, 'receive', a, '--trust', alice.pub, '--receipt-copy', receipt]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('refuses to extend a copy the ledger knows to be stale (exit 2, bundle unchanged) unless --allow-fork', () => {
    const before = sha(b);
    const refused = runCli(['--home', alice.home, '--json', 'transfer', b, '--to', carol.pub, '--reason', 'second copy']);
    expect(refused.code).toBe(2);
    expect(json(refused).error).toMatchObject({ code: 'STALE_COPY', message: expect.stringMatching(/stale copy: the ledger knows 1 later record/) });
    expect(sha(b)).toBe(before);
    const resent = runCli(['--home', alice.home, 'transfer', b, '--to', carol.pub, '--reason', 're-send: the first copy was lost in transit', '--allow-fork']);
    expect(resent.code, resent.stderr).toBe(0);
  });

  it("names the fork on either side's ledger: NOT VERIFIED, both records named", () => {
    for (const home of [alice.home, bob.home]) {
      const v = runCli(['--home', home, '--json', 'verify', b, '--trust', alice.pub]);
      expect(v.code, v.stdout).toBe(1);
      const doc = json(v);
      expect(doc.verdict.failedCheck).toBe('chain.ledger');
      expect(doc.verdict.ledger.state).toBe('fork');
      expect(doc.error.message).toMatch(/^fork: record 0001 transfer by Alice at \S+ \(payload sha256:[0-9a-f]{16}…\) in this copy differs from record 0001 transfer by Alice at \S+ \(payload sha256:[0-9a-f]{16}…\) the ledger holds/);
    }
    expect(runCli(['--home', alice.home, 'verify', a, '--trust', alice.pub]).code).toBe(0);
    expect(runCli(['--home', alice.home, 'log', b]).code).toBe(1);
    // Without a ledger that knows better, the second copy verifies on its own.
    expect(runCli(['--home', path.join(dir, 'nobody'), 'verify', b, '--trust', alice.pub]).code).toBe(0);
  });

  it('names a stale copy: exit 0, exit 1 with --strict; the sender learns of the receipt by importing it', () => {
    const v = runCli(['--home', bob.home, 'verify', a0, '--trust', alice.pub]);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/stale copy: the ledger knows 1 later record\(s\) \(last: receive by Bob at \S+\)/);
    const strict = runCli(['--home', bob.home, '--json', 'verify', a0, '--trust', alice.pub, '--strict']);
    expect(strict.code).toBe(1);
    expect(json(strict).verdict.ledger.state).toBe('stale');

    // Alice's ledger does not know of the receive until she imports the receipt Bob sent back.
    expect(runCli(['--home', alice.home, 'verify', a0]).stdout).not.toMatch(/stale copy/);
    const imp = runCli(['--home', alice.home, '--json', 'ledger', 'import', receipt]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(json(imp)).toMatchObject({ kind: 'receipt', recordsAdded: 1 });
    expect(runCli(['--home', alice.home, 'verify', a0]).stdout).toMatch(/stale copy: the ledger knows 1 later record/);
    // A receipt that does not follow the chain the ledger holds is refused: a ledger that knows the copy as
    // Alice sent it takes the real receipt, not one whose signature was changed.
    const other = path.join(dir, 'another-office');
    expect(runCli(['--home', other, 'ledger', 'import', a0]).code).toBe(0);
    const forged = path.join(dir, 'forged-receipt.json');
    const doc = JSON.parse(fs.readFileSync(receipt, 'utf8'));
    const sig = Buffer.from(doc.signatures[0].sig, 'base64');
    sig[3]! ^= 1;
    doc.signatures[0].sig = sig.toString('base64');
    fs.writeFileSync(forged, `${JSON.stringify(doc)}\n`);
    const bad = runCli(['--home', other, 'ledger', 'import', forged]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/is not the next record of the chain this ledger holds/);
    expect(runCli(['--home', other, 'ledger', 'import', receipt]).code).toBe(0);
  });
});
