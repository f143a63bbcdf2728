/**
 * OpenSSH private key files (`-----BEGIN OPENSSH PRIVATE KEY-----`, the
 * "openssh-key-v1" format of OpenSSH's PROTOCOL.key) for one Ed25519 key,
 * written as ssh-keygen writes them: unencrypted, or with aes256-ctr under a
 * key from bcrypt-pbkdf (16 rounds, 16-byte salt). A recipient hands the file
 * to stock `age -d -i` to open a bundle encrypted to their custody key.
 *
 * Threat guarded against: a secret key leaving custody's encrypted key file
 * in clear by accident — the writer protects it with a passphrase unless the
 * caller explicitly asks for none; the reader checks the two check integers
 * (a wrong passphrase) and that the public key matches the seed.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import bcryptPbkdf from 'bcrypt-pbkdf';
import { CustodyError } from '../core/errors.js';
import { publicKeyFromSeed } from './ed25519.js';
import { bytesEqual, concatBytes, fromBase64Strict, toBase64, utf8 } from './encoding.js';

const MAGIC = utf8('openssh-key-v1\0');
const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';
/** What ssh-keygen uses by default. */
export const DEFAULT_BCRYPT_ROUNDS = 16;
const MAX_BCRYPT_ROUNDS = 1024;

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function sshString(bytes: Uint8Array | string): Uint8Array {
  const b = typeof bytes === 'string' ? utf8(bytes) : bytes;
  return concatBytes(u32(b.length), b);
}

function bcryptKeyIv(passphrase: string, salt: Uint8Array, rounds: number): { key: Uint8Array; iv: Uint8Array } {
  const pass = utf8(passphrase);
  const out = new Uint8Array(48);
  if (bcryptPbkdf.pbkdf(pass, pass.length, salt, salt.length, out, out.length, rounds) !== 0) {
    throw new CustodyError('INTERNAL', 'bcrypt-pbkdf failed');
  }
  return { key: out.subarray(0, 32), iv: out.subarray(32) };
}

/** The OpenSSH private key file for `seed`; encrypted with `passphrase` unless it is null. */
export function seedToOpenSshPrivateKey(seed: Uint8Array, comment: string, passphrase: string | null, rounds = DEFAULT_BCRYPT_ROUNDS): string {
  if (seed.length !== 32) throw new CustodyError('BAD_KEY', 'an Ed25519 seed is 32 bytes');
  if (passphrase === '') throw new CustodyError('USAGE', 'an empty passphrase protects nothing', { hint: 'give one, or use --no-passphrase' });
  const pub = publicKeyFromSeed(seed);
  const pubBlob = concatBytes(sshString('ssh-ed25519'), sshString(pub));
  const check = randomBytes(4);
  const blockSize = passphrase === null ? 8 : 16;
  let priv = concatBytes(check, check, sshString('ssh-ed25519'), sshString(pub), sshString(concatBytes(seed, pub)), sshString(comment.replace(/[\r\n]/g, ' ')));
  const pad = (blockSize - (priv.length % blockSize)) % blockSize;
  priv = concatBytes(priv, Uint8Array.from({ length: pad }, (_, i) => i + 1));
  let cipher = 'none';
  let kdf = 'none';
  let kdfOptions: Uint8Array = new Uint8Array(0);
  if (passphrase !== null) {
    const salt = new Uint8Array(randomBytes(16));
    const { key, iv } = bcryptKeyIv(passphrase, salt, rounds);
    const c = createCipheriv('aes-256-ctr', key, iv);
    priv = new Uint8Array(Buffer.concat([c.update(priv), c.final()]));
    cipher = 'aes256-ctr';
    kdf = 'bcrypt';
    kdfOptions = concatBytes(sshString(salt), u32(rounds));
  }
  const body = concatBytes(MAGIC, sshString(cipher), sshString(kdf), sshString(kdfOptions), u32(1), sshString(pubBlob), sshString(priv));
  const b64 = toBase64(body);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 70) lines.push(b64.slice(i, i + 70));
  return `${BEGIN}\n${lines.join('\n')}\n${END}\n`;
}

class Reader {
  private off = 0;
  constructor(private readonly b: Uint8Array) {}
  u32(): number {
    if (this.off + 4 > this.b.length) throw bad('it is truncated');
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.off, 4).getUint32(0);
    this.off += 4;
    return v;
  }
  bytes(n: number): Uint8Array {
    if (this.off + n > this.b.length) throw bad('it is truncated');
    const v = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  string(): Uint8Array {
    return this.bytes(this.u32());
  }
  text(): string {
    return new TextDecoder().decode(this.string());
  }
  get left(): number {
    return this.b.length - this.off;
  }
}

function bad(why: string): CustodyError {
  return new CustodyError('BAD_KEY', `not a usable OpenSSH Ed25519 private key: ${why}`);
}

export function isOpenSshPrivateKey(text: string): boolean {
  return text.trimStart().startsWith(BEGIN);
}

/** True when the file needs a passphrase. */
export function openSshPrivateKeyIsEncrypted(text: string): boolean {
  const r = new Reader(decodeArmor(text));
  r.bytes(MAGIC.length);
  return r.text() !== 'none';
}

function decodeArmor(text: string): Uint8Array {
  const t = text.trim();
  if (!t.startsWith(BEGIN) || !t.endsWith(END)) throw bad('no OPENSSH PRIVATE KEY armor');
  const b64 = t.slice(BEGIN.length, t.length - END.length).replace(/\s+/g, '');
  const body = fromBase64Strict(b64, 'OpenSSH private key', 'BAD_KEY');
  if (!bytesEqual(body.subarray(0, MAGIC.length), MAGIC)) throw bad('no openssh-key-v1 magic');
  return body;
}

/** Reads the Ed25519 seed (and comment) from an OpenSSH private key file. */
export function openSshPrivateKeyToSeed(text: string, passphrase: string | null): { seed: Uint8Array; comment: string } {
  const r = new Reader(decodeArmor(text));
  r.bytes(MAGIC.length);
  const cipher = r.text();
  const kdf = r.text();
  const kdfOptions = new Reader(r.string());
  if (r.u32() !== 1) throw bad('it holds more than one key');
  const pubBlob = new Reader(r.string());
  if (pubBlob.text() !== 'ssh-ed25519') throw bad('it is not an Ed25519 key');
  const pub = pubBlob.string();
  let priv = r.string();
  if (cipher !== 'none') {
    if (cipher !== 'aes256-ctr' || kdf !== 'bcrypt') throw bad(`cipher ${cipher} with kdf ${kdf} is not supported (aes256-ctr with bcrypt is)`);
    if (passphrase === null) throw new CustodyError('WRONG_PASSPHRASE', 'this OpenSSH key is protected by a passphrase');
    const salt = kdfOptions.string();
    const rounds = kdfOptions.u32();
    if (rounds < 1 || rounds > MAX_BCRYPT_ROUNDS) throw bad(`bcrypt rounds ${rounds} out of range`);
    const { key, iv } = bcryptKeyIv(passphrase, salt, rounds);
    const d = createDecipheriv('aes-256-ctr', key, iv);
    priv = new Uint8Array(Buffer.concat([d.update(priv), d.final()]));
  } else if (kdf !== 'none') throw bad('a kdf without a cipher');
  const p = new Reader(priv);
  const c1 = p.u32();
  const c2 = p.u32();
  if (c1 !== c2) throw new CustodyError('WRONG_PASSPHRASE', 'wrong passphrase for the OpenSSH key');
  if (p.text() !== 'ssh-ed25519') throw bad('the private part is not Ed25519');
  const pub2 = p.string();
  const both = p.string();
  const comment = p.text();
  if (pub2.length !== 32 || both.length !== 64) throw bad('key lengths are wrong');
  const seed = both.slice(0, 32);
  if (!bytesEqual(pub2, pub) || !bytesEqual(both.subarray(32), pub) || !bytesEqual(publicKeyFromSeed(seed), pub)) {
    throw bad('its public and private halves do not match');
  }
  return { seed, comment };
}
