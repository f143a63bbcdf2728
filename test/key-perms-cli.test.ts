/**
 * Which secret key signs: `--key x.pub` uses the x.key beside it only when
 * that .key is the .pub's own; a secret key others can read or change, and a
 * keys folder others can write to, are refused with the chmod to run (as ssh
 * refuses them). Tests may run as root, so the mode bits are what is checked.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';

const env = (): Record<string, string> => {
  const e = { ...(process.env as Record<string, string>) };
  for (const k of ['CUSTODY_PASSPHRASE', 'CUSTODY_KEY', 'CUSTODY_HOME']) delete e[k];
  return e;
};
const cli = (args: string[]) => runCli(args, { env: env() });

let dir: string;
let n = 0;

interface Made {
  home: string;
  keyid: string;
  keyFile: string;
  pubFile: string;
}

function keyNew(name: string, out?: string): Made {
  const home = path.join(dir, `home-${name.toLowerCase()}`);
  const r = cli(['--home', home, '--json', 'key', 'new', '--name', name, '--no-passphrase', ...(out ? ['--out', out] : [])]);
  expect(r.code, r.stderr).toBe(0);
  const d = JSON.parse(r.stdout);
  return { home, keyid: d.keyid, keyFile: d.keyFile, pubFile: d.pubFile };
}

/** seal with the given home and flags; returns the result and the bundle path. */
function seal(home: string, extra: string[] = []) {
  const out = path.join(dir, `b${++n}.tar`);
  const r = cli(['--home', home, '--json', 'seal', path.join(dir, 'evidence'), '--case', 'P-1', '--out', out, '--piece', '0', ...extra]);
  return { ...r, out, doc: r.stdout ? JSON.parse(r.stdout) : undefined };
}

function sealerOf(bundle: string, home: string): string {
  const r = cli(['--home', home, '--json', 'log', bundle]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).records[0].by.keyid as string;
}

beforeAll(() => {
  dir = tempDir('custody-keyperms-');
  fs.mkdirSync(path.join(dir, 'evidence'));
  fs.writeFileSync(path.join(dir, 'evidence', 'a.txt'), 'evidence\n');
}, 60_000);

describe('--key x.pub signs with x.key only if it is the same key', () => {
  it("refuses someone else's .key beside the .pub: exit 2, one line, no bundle", () => {
    const ana = keyNew('Ana', path.join(dir, 'ana'));
    const eve = keyNew('Eve');
    const good = seal(ana.home, ['--key', ana.pubFile]);
    expect(good.code, good.stderr).toBe(0);
    expect(sealerOf(good.out, ana.home)).toBe(ana.keyid);

    fs.rmSync(ana.keyFile);
    fs.copyFileSync(eve.keyFile, ana.keyFile);
    fs.chmodSync(ana.keyFile, 0o600);
    const text = cli(['--home', ana.home, 'seal', path.join(dir, 'evidence'), '--case', 'P-1', '--out', path.join(dir, 'swapped.tar'), '--piece', '0', '--key', ana.pubFile]);
    expect(text.code).toBe(2);
    expect(text.stderr.trim().split('\n')).toHaveLength(1);
    expect(text.stderr).toContain(`custody: ${ana.keyFile} is not the secret key of ${ana.pubFile} (key id ${eve.keyid}, not ${ana.keyid}); refusing to sign with it`);
    expect(fs.existsSync(path.join(dir, 'swapped.tar'))).toBe(false);
  });
});

describe('secret keys and key folders others can touch are refused with the chmod to run', () => {
  it.each(['644', '640', '602'])('a .key with mode %s: exit 2 BAD_KEY, hint chmod 600 <file>', (octal) => {
    const mode = parseInt(octal, 8);
    const k = keyNew(`Mode${mode.toString(8)}`, path.join(dir, `k${mode.toString(8)}`));
    fs.chmodSync(k.keyFile, mode);
    const r = seal(k.home, ['--key', k.keyFile]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.doc.error.code).toBe('BAD_KEY');
    expect(r.doc.error.message).toMatch(new RegExp(`^refusing the secret key ${k.keyFile}: its mode 0${mode.toString(8)} lets group or others (read|change) it`));
    const text = cli(['--home', k.home, 'seal', path.join(dir, 'evidence'), '--case', 'P-1', '--out', path.join(dir, 'no.tar'), '--key', k.keyFile]);
    expect(text.stderr.trim().split('\n')).toHaveLength(1);
    expect(text.stderr.trim()).toMatch(new RegExp(`\\(chmod 600 ${k.keyFile}\\)$`));
    expect(fs.existsSync(r.out)).toBe(false);
    // Found through a .pub, by key id, or as the only key in the home: refused all the same.
    expect(seal(k.home, ['--key', k.pubFile]).code).toBe(2);
    fs.chmodSync(k.keyFile, 0o600);
    const ok = seal(k.home, ['--key', k.pubFile]);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('the only key in <home>/keys with mode 0644 is refused; 0400 and 0600 sign', () => {
    const k = keyNew('Homekey');
    fs.chmodSync(k.keyFile, 0o644);
    const bad = seal(k.home);
    expect(bad.code).toBe(2);
    expect(bad.doc.error).toMatchObject({ code: 'BAD_KEY', message: expect.stringContaining(k.keyFile) });
    for (const mode of [0o400, 0o600]) {
      fs.chmodSync(k.keyFile, mode);
      expect(seal(k.home).code).toBe(0);
    }
  });

  it.each(['777', '770', '1777'])('a keys folder with mode %s: exit 2 BAD_KEY, hint chmod 700 <dir>; 0700 and 0755 are fine', (octal) => {
    const mode = parseInt(octal, 8);
    const k = keyNew(`Dir${mode.toString(8)}`);
    const keysDir = path.dirname(k.keyFile);
    fs.chmodSync(keysDir, mode);
    const r = seal(k.home);
    expect(r.code, r.stderr).toBe(2);
    expect(r.doc.error.code).toBe('BAD_KEY');
    const text = cli(['--home', k.home, 'key', 'list']);
    expect(text.code).toBe(2);
    expect(text.stderr.trim()).toBe(
      `custody: refusing the keys folder ${keysDir}: its mode ${(mode & 0o7777).toString(8).padStart(4, '0')} lets group or others add or replace keys (chmod 700 ${keysDir})`,
    );
    for (const fine of [0o755, 0o700]) {
      fs.chmodSync(keysDir, fine);
      expect(seal(k.home).code).toBe(0);
    }
  });

  it('key new and key import write what these checks accept (0600 key, 0700 folder)', () => {
    const k = keyNew('Fresh');
    expect(fs.statSync(k.keyFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(k.keyFile)).mode & 0o777).toBe(0o700);
    const pem = path.join(dir, 'imp.pem');
    fs.writeFileSync(
      pem,
      // An Ed25519 PKCS#8 key (RFC 8410 example, seed d4ee72db…), as `openssl genpkey -algorithm ed25519` writes it.
      '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n',
    );
    const home = path.join(dir, 'home-import');
    const r = cli(['--home', home, '--json', 'key', 'import', pem, '--name', 'Imported', '--no-passphrase']);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(fs.statSync(d.keyFile).mode & 0o777).toBe(0o600);
    expect(seal(home).code).toBe(0);
  });
});
