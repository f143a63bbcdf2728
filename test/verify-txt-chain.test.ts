/**
 * VERIFY.txt run as written on a bundle that has travelled (seal, transfer,
 * receive: three records added after VERIFY.txt was written), with names
 * holding '%' (the sed route for %25): every command passes, the chain step
 * checks each record with sh, sed, base64, sha256sum and openssl alone, in
 * bash and in dash; and the same commands fail on a record changed by one
 * byte, a record removed from the middle, a record signed by someone who does
 * not hold the bundle, and a manifest line changed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { signerFromSeed } from '../src/custody/identity.js';
import { decryptKeyFile } from '../src/custody/keyfile.js';
import { makeRecord, partyFromIdentity } from '../src/custody/record.js';
import { runCli, tempDir } from './helpers/cli.js';
import { runVerifyTxt, verifyTxtCommands } from './helpers/verify-txt.js';

let dir: string;
let bundle: string;
let people: Record<'alice' | 'bob' | 'mallory', { home: string; key: string; pub: string }>;
let commands: string[];

function person(name: string) {
  const home = path.join(dir, name.toLowerCase());
  const r = runCli(['--home', home, 'key', 'new', '--name', name, '--no-passphrase', '--json']);
  expect(r.code, r.stderr).toBe(0);
  const j = JSON.parse(r.stdout);
  return { home, key: j.keyFile as string, pub: j.pubFile as string };
}

/** Untars a copy of the bundle (after `change`) into a fresh folder and runs VERIFY.txt's commands there. */
function runOn(name: string, change: (bag: string) => void = () => {}, shell = 'bash'): { code: number; out: string } {
  const x = path.join(dir, name);
  fs.mkdirSync(x);
  fs.copyFileSync(bundle, path.join(x, 'travel.tar'));
  // The commands untar the bundle themselves: change the bag after the first two (tar -xf, cd).
  const [untar, cd, ...rest] = commands;
  expect(untar).toBe('tar -xf travel.tar');
  expect(cd).toBe('cd travel');
  expect(spawnSync('tar', ['-xf', 'travel.tar'], { cwd: x }).status).toBe(0);
  change(path.join(x, 'travel'));
  return runVerifyTxt([cd!, ...rest], x, shell);
}

beforeAll(() => {
  dir = tempDir('custody-verify-txt-');
  people = { alice: person('Alice'), bob: person('Bob'), mallory: person('Mallory') };
  const ev = path.join(dir, 'ev');
  fs.mkdirSync(ev);
  fs.writeFileSync(path.join(ev, '100% done.txt'), 'done\n');
  fs.writeFileSync(path.join(ev, 'a%25b.txt'), 'literal %25 on disk\n');
  fs.writeFileSync(path.join(ev, 'plain.txt'), 'plain\n');
  bundle = path.join(dir, 'travel.tar');
  const s = runCli(['--home', people.alice.home, 'seal', ev, '--case', 'VT-1', '--out', bundle, '--piece', '0', '--note', 'a "quoted" note, with {braces} and \\ backslash']);
  expect(s.code, s.stderr).toBe(0);
  const t = runCli(['--home', people.alice.home, 'transfer', bundle, '--to', people.bob.pub, '--reason', 'court "A\\B" {x}']);
  expect(t.code, t.stderr).toBe(0);
  const r = runCli(['--home', people.bob.home, 'receive', bundle, '--trust', people.alice.pub]);
  expect(r.code, r.stderr).toBe(0);
  const text = spawnSync('tar', ['-xOf', bundle, 'travel/VERIFY.txt'], { encoding: 'utf8' }).stdout;
  commands = verifyTxtCommands(text);
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('VERIFY.txt on a bundle with three records', () => {
  it('gives the sed route for names with %, and every command passes as written', () => {
    expect(commands).toContain("sed 's/%25/%/g' manifest-sha256.txt | sha256sum -c -");
    expect(commands).not.toContain('sha256sum -c manifest-sha256.txt');
    const r = runOn('good');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('100% done.txt: OK');
    expect(r.out).toContain('a%25b.txt: OK');
    expect(r.out).not.toMatch(/FAILED/);
    for (const rec of ['0000-seal.dsse.json (seal)', '0001-transfer.dsse.json (transfer)', '0002-receive.dsse.json (receive)']) {
      expect(r.out).toContain(`OK custody/chain/${rec}`);
    }
  });

  it('checks the records with POSIX sh (dash) too', () => {
    const chain = commands.find((c) => c.startsWith('( t=$(mktemp -d)'))!;
    expect(chain).toBeDefined();
    const x = path.join(dir, 'dash');
    fs.mkdirSync(x);
    expect(spawnSync('tar', ['-xf', bundle], { cwd: x }).status).toBe(0);
    const r = spawnSync('dash', ['-c', chain], { cwd: path.join(x, 'travel'), encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout.match(/^OK /gm)?.length).toBe(3);
  });

  it('fails on a record changed by one byte (payload, signature, keyid or layout)', () => {
    const rec = 'custody/chain/0001-transfer.dsse.json';
    const edits: [string, (s: string) => string][] = [
      ['payload', (s) => s.replace(/"payload":"(.{40})(.)/, (_m, a: string, b: string) => `"payload":"${a}${b === 'A' ? 'B' : 'A'}`)],
      ['signature', (s) => s.replace(/"sig":"(.)/, (_m, a: string) => `"sig":"${a === 'A' ? 'B' : 'A'}`)],
      ['keyid', (s) => s.replace(/"keyid":"(.)/, (_m, a: string) => `"keyid":"${a === '0' ? '1' : '0'}`)],
      ['base64 tail bits', (s) => s.replace(/"sig":"([^"]*)(.)=="/, (_m, a: string, b: string) => `"sig":"${a}${String.fromCharCode(b.charCodeAt(0) + 1)}=="`)],
      ['layout', (s) => s.replace('{"payloadType"', '{ "payloadType"')],
    ];
    for (const [what, edit] of edits) {
      const r = runOn(`edit-${what.replace(/\W/g, '')}`, (bag) => {
        const f = path.join(bag, rec);
        const before = fs.readFileSync(f, 'utf8');
        const after = edit(before);
        expect(after, what).not.toBe(before);
        fs.writeFileSync(f, after);
      });
      expect(r.code, `${what}: ${r.out}`).not.toBe(0);
      expect(r.out, what).toContain(`FAILED: ${rec}`);
    }
  });

  it('fails on a record removed from the middle', () => {
    const r = runOn('removed', (bag) => fs.rmSync(path.join(bag, 'custody/chain/0001-transfer.dsse.json')));
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('FAILED: custody/chain/0002-receive.dsse.json: seq 2 where 1 must come');
  });

  it('fails on a well-signed record by someone who does not hold the bundle', async () => {
    // Mallory signs a transfer of the bundle to herself: a valid signature, the wrong signer.
    const { seed, identity } = await decryptKeyFile(new Uint8Array(fs.readFileSync(people.mallory.key)), null, people.mallory.key);
    const mallory = signerFromSeed(seed, identity);
    const r = runOn('forged', (bag) => {
      const last = JSON.parse(fs.readFileSync(path.join(bag, 'custody/chain/0002-receive.dsse.json'), 'utf8'));
      const lastPayload = Buffer.from(last.payload, 'base64');
      const rec = makeRecord(mallory, {
        bundleName: 'travel',
        bundleDigest: createHash('sha256').update(fs.readFileSync(path.join(bag, 'tagmanifest-sha256.txt'))).digest('hex'),
        predicate: {
          seq: 3,
          prev: `sha256:${createHash('sha256').update(lastPayload).digest('hex')}`,
          action: 'transfer',
          at: new Date().toISOString(),
          by: partyFromIdentity(mallory.identity),
          to: partyFromIdentity(mallory.identity),
          reason: 'mine now',
        },
      });
      fs.writeFileSync(path.join(bag, 'custody/chain/0003-transfer.dsse.json'), rec.envelope);
    });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('OK custody/chain/0002-receive.dsse.json');
    expect(r.out).toMatch(/FAILED: custody\/chain\/0003-transfer\.dsse\.json: signed by key \S+, which is not the custodian's/);
  });

  it('fails on a changed manifest line through the sed route', () => {
    const r = runOn('manifest', (bag) => {
      const f = path.join(bag, 'data/ev/100% done.txt');
      fs.writeFileSync(f, 'not done\n');
    });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('100% done.txt: FAILED');
  });
});
