/** Key and signature formats checked against the real peer tools: openssl, ssh-keygen, minisign. */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tempDir } from './helpers/cli.js';
import { signerFromSeed, parsePublicKeyFile, publicKeyFile } from '../src/custody/identity.js';
import { pkcs8PemToSeed, publicKeyToSpkiPem, seedToPkcs8Pem, spkiPemToPublicKey } from '../src/custody/pem.js';
import { openSshToPublicKey, publicKeyToOpenSsh } from '../src/custody/openssh.js';
import {
  minisignKeyIdText,
  minisignPublicKeyFile,
  minisignPublicKeyFromText,
  minisignSign,
  minisignVerify,
} from '../src/custody/minisign.js';
import { publicKeyFromSeed } from '../src/custody/ed25519.js';
import { CustodyError } from '../src/core/errors.js';

const dir = tempDir('custody-formats-');
const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function opensslKey(): { pemPath: string; pem: string } {
  const pemPath = path.join(dir, `k${Math.random().toString(16).slice(2)}.pem`);
  openssl('genpkey', '-algorithm', 'ed25519', '-out', pemPath);
  return { pemPath, pem: fs.readFileSync(pemPath, 'utf8') };
}

describe('PEM', () => {
  it('imports an openssl genpkey key; our SPKI PEM equals `openssl pkey -pubout`', () => {
    const { pemPath, pem } = opensslKey();
    const seed = pkcs8PemToSeed(pem);
    expect(seedToPkcs8Pem(seed)).toBe(pem);
    const ours = publicKeyToSpkiPem(publicKeyFromSeed(seed));
    expect(ours).toBe(openssl('pkey', '-in', pemPath, '-pubout'));
    expect(spkiPemToPublicKey(ours)).toEqual(publicKeyFromSeed(seed));
  });

  it('our raw signature verifies with `openssl pkeyutl -verify -rawin`, and a changed message fails', () => {
    const { pem } = opensslKey();
    const signer = signerFromSeed(pkcs8PemToSeed(pem), { name: 'Examiner' });
    const msgPath = path.join(dir, 'msg.txt');
    const sigPath = path.join(dir, 'msg.sig');
    const pubPath = path.join(dir, 'pub.pem');
    fs.writeFileSync(msgPath, 'tagmanifest bytes\n');
    fs.writeFileSync(sigPath, signer.sign(fs.readFileSync(msgPath)));
    fs.writeFileSync(pubPath, publicKeyToSpkiPem(signer.identity.publicKey));
    const ok = spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', pubPath, '-rawin', '-in', msgPath, '-sigfile', sigPath], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    fs.writeFileSync(msgPath, 'tagmanifest bytez\n');
    const bad = spawnSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', pubPath, '-rawin', '-in', msgPath, '-sigfile', sigPath], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
  });

  it('refuses an RSA key, an encrypted PEM, trailing junk', () => {
    const rsa = path.join(dir, 'rsa.pem');
    openssl('genpkey', '-algorithm', 'rsa', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', rsa);
    expect(() => pkcs8PemToSeed(fs.readFileSync(rsa, 'utf8'))).toThrow(/not an Ed25519/);
    const enc = path.join(dir, 'enc.pem');
    openssl('genpkey', '-algorithm', 'ed25519', '-aes-256-cbc', '-pass', 'pass:x', '-out', enc);
    expect(() => pkcs8PemToSeed(fs.readFileSync(enc, 'utf8'))).toThrow(/encrypted/);
    const { pem } = opensslKey();
    expect(() => pkcs8PemToSeed(pem + 'junk\n')).toThrow(CustodyError);
  });
});

describe('OpenSSH', () => {
  it('`ssh-keygen -l -f` reads our line and prints the same SHA-256 fingerprint', () => {
    const signer = signerFromSeed(new Uint8Array(32).fill(9), { name: 'Ana Lima' });
    const line = publicKeyToOpenSsh(signer.identity.publicKey, `${signer.identity.name} (custody ${signer.identity.keyid})`);
    const f = path.join(dir, 'id.pub');
    fs.writeFileSync(f, line);
    const out = execFileSync('ssh-keygen', ['-l', '-f', f], { encoding: 'utf8' });
    const blob = Buffer.from(line.split(' ')[1]!, 'base64');
    const expected = createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
    expect(out).toContain(`256 SHA256:${expected}`);
    expect(out).toContain('(ED25519)');
    expect(openSshToPublicKey(line).publicKey).toEqual(signer.identity.publicKey);
  });

  it('reads a key ssh-keygen made', () => {
    const f = path.join(dir, 'sshkey');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'someone@lab', '-f', f]);
    const { publicKey, comment } = openSshToPublicKey(fs.readFileSync(`${f}.pub`, 'utf8'));
    expect(publicKey).toHaveLength(32);
    expect(comment).toBe('someone@lab');
  });
});

describe('minisign', () => {
  const signer = signerFromSeed(new Uint8Array(32).fill(5), { name: 'Examiner' });

  it('`minisign -V` accepts our prehashed signature and shows our trusted comment and key id', () => {
    const msgPath = path.join(dir, 'tagmanifest-sha256.txt');
    const pubPath = path.join(dir, 'sealer.minisign.pub');
    fs.writeFileSync(msgPath, 'abc  bagit.txt\n');
    fs.writeFileSync(`${msgPath}.minisig`, minisignSign(signer, fs.readFileSync(msgPath), 'custody bundle sha256:1234'));
    fs.writeFileSync(pubPath, minisignPublicKeyFile(signer.identity.publicKey));
    const r = spawnSync('minisign', ['-V', '-m', msgPath, '-p', pubPath], { encoding: 'utf8' });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('Trusted comment: custody bundle sha256:1234');
    expect(fs.readFileSync(pubPath, 'utf8')).toContain(signer.identity.keyid.toUpperCase());
    expect(minisignKeyIdText(signer.identity.publicKey)).toBe(signer.identity.keyid.toUpperCase());
    // minisign refuses the signature for changed data
    fs.writeFileSync(msgPath, 'abd  bagit.txt\n');
    expect(spawnSync('minisign', ['-V', '-m', msgPath, '-p', pubPath]).status).not.toBe(0);
  });

  it('minisign -V refuses a changed trusted comment; so do we', () => {
    const msg = new TextEncoder().encode('data');
    const sig = minisignSign(signer, msg, 'original comment');
    expect(minisignVerify(sig, msg, signer.identity.publicKey)).toBe(true);
    const forged = sig.replace('trusted comment: original comment', 'trusted comment: forged comment');
    expect(minisignVerify(forged, msg, signer.identity.publicKey)).toBe(false);
    const msgPath = path.join(dir, 'm2');
    const pubPath = path.join(dir, 'm2.pub');
    fs.writeFileSync(msgPath, msg);
    fs.writeFileSync(`${msgPath}.minisig`, forged);
    fs.writeFileSync(pubPath, minisignPublicKeyFile(signer.identity.publicKey));
    expect(spawnSync('minisign', ['-V', '-m', msgPath, '-p', pubPath]).status).not.toBe(0);
  });

  it('we verify a signature made by the real minisign (prehashed) when we know its key', () => {
    // minisign keys are its own format: read its public key bytes directly and compare signatures.
    const sk = path.join(dir, 'ms.key');
    const pk = path.join(dir, 'ms.pub');
    const r1 = spawnSync('minisign', ['-G', '-W', '-f', '-p', pk, '-s', sk], { encoding: 'utf8' });
    expect(r1.status, r1.stderr).toBe(0);
    const msgPath = path.join(dir, 'm3');
    fs.writeFileSync(msgPath, 'signed by minisign\n');
    const r2 = spawnSync('minisign', ['-S', '-s', sk, '-m', msgPath, '-t', 'their comment'], { encoding: 'utf8' });
    expect(r2.status, r2.stderr).toBe(0);
    const blob = Buffer.from(fs.readFileSync(pk, 'utf8').trim().split('\n')[1]!, 'base64');
    const pub = new Uint8Array(blob.subarray(10));
    // The key id minisign chose is not ours, so the strict check refuses it ...
    expect(minisignVerify(fs.readFileSync(`${msgPath}.minisig`, 'utf8'), fs.readFileSync(msgPath), pub)).toBe(false);
    expect(() => minisignPublicKeyFromText(fs.readFileSync(pk, 'utf8'))).toThrow(/not made by custody/);
  });

  it('our public key file round-trips', () => {
    expect(minisignPublicKeyFromText(minisignPublicKeyFile(signer.identity.publicKey))).toEqual(signer.identity.publicKey);
  });

  it('round trip (property): verify accepts exactly the signed message', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.stringMatching(/^[ -~]{0,40}$/), (msg, tc) => {
        const sig = minisignSign(signer, msg, tc);
        expect(minisignVerify(sig, msg, signer.identity.publicKey)).toBe(true);
        expect(minisignVerify(sig, new Uint8Array([...msg, 1]), signer.identity.publicKey)).toBe(false);
      }),
      { numRuns: 30 },
    );
  });
});

describe('.pub file', () => {
  it('round-trips and refuses a key id that does not match', () => {
    const s = signerFromSeed(new Uint8Array(32).fill(1), { name: 'Ana', org: 'Lab', role: 'examiner' });
    const text = publicKeyFile(s.identity, '2026-01-01T00:00:00.000Z');
    const back = parsePublicKeyFile(text);
    expect(back).toMatchObject({ name: 'Ana', org: 'Lab', role: 'examiner', keyid: s.identity.keyid, created: '2026-01-01T00:00:00.000Z' });
    expect(() => parsePublicKeyFile(text.replace(s.identity.keyid, '0000000000000000'))).toThrow(/key id/);
    expect(() => parsePublicKeyFile(text.replace('"name": "Ana"', '"name": "Ana", "name": "Eve"'))).toThrow(/duplicate key/);
    expect(() => parsePublicKeyFile(text.replace('"name": "Ana"', '"name": "Ana\\u001b[2J"'))).toThrow(/control/);
  });
});
