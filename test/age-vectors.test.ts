/**
 * C2SP's age test vectors (npm cctv-age) run through custody's age decoder:
 * every vector with only X25519 identities and no armor must end exactly as
 * the vector expects — success with the right payload, or the failure of the
 * right kind (no match, header, header MAC, payload) having released only the
 * plaintext the vector allows. Vectors for scrypt, hybrid post-quantum and
 * armor are counted and skipped: custody neither writes nor reads them.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { allAgeVectors, appliesToCustody, inPieces, type AgeVector, type Outcome } from './helpers/age-vectors.js';
import { CustodyError } from '../src/core/errors.js';
import { decryptAge, encryptAge } from '../src/custody/age/stream.js';
import { parseX25519Identity, x25519Identity, x25519Recipient } from '../src/custody/age/recipients.js';

async function run(v: AgeVector, pieceSize: number): Promise<{ outcome: Outcome; released: Buffer; error?: unknown }> {
  const ids = (v.meta.get('identity') ?? []).map(parseX25519Identity);
  const released: Buffer[] = [];
  try {
    const d = await decryptAge(inPieces(v.file, pieceSize), ids);
    for await (const c of d.plaintext) released.push(Buffer.from(c));
    return { outcome: 'success', released: Buffer.concat(released) };
  } catch (e) {
    const all = Buffer.concat(released);
    if (!(e instanceof CustodyError)) throw e;
    if (e.code === 'NOT_RECIPIENT') return { outcome: 'no match', released: all, error: e };
    expect(e.code).toBe('CIPHERTEXT_ERROR');
    if (/^age header MAC/.test(e.message)) return { outcome: 'HMAC failure', released: all, error: e };
    if (/^age header:/.test(e.message)) return { outcome: 'header failure', released: all, error: e };
    if (/^age payload:/.test(e.message)) return { outcome: 'payload failure', released: all, error: e };
    throw e;
  }
}

const all = allAgeVectors;
const applies = appliesToCustody;
const used = all.filter(applies);
const skipped = all.filter((v) => !applies(v));

describe('C2SP age test vectors', () => {
  it('applies to the X25519, STREAM and header vectors and skips only scrypt, hybrid and armor ones', () => {
    expect(all.length).toBeGreaterThan(100);
    expect(used.length).toBeGreaterThanOrEqual(60);
    for (const v of skipped) expect(v.name).toMatch(/^(scrypt|hybrid|armor)/);
    console.log(`age vectors: ${used.length} run, ${skipped.length} skipped (scrypt, hybrid, armor)`);
  });

  for (const v of used) {
    it(`${v.name}: ${v.meta.get('expect')![0]}`, async () => {
      const expected = v.meta.get('expect')![0] as Outcome;
      for (const pieceSize of [1 << 20, 4099]) {
        const r = await run(v, pieceSize);
        expect(r.outcome, String(r.error)).toBe(expected);
        const payload = v.meta.get('payload')?.[0];
        if (payload !== undefined) expect(createHash('sha256').update(r.released).digest('hex')).toBe(payload);
        else expect(r.released.length).toBe(0);
      }
    });
  }
});

describe('age STREAM round trip', () => {
  it('encrypts and decrypts sizes around the 64 KiB chunk boundary byte-exact, in any piece size', async () => {
    const secret = new Uint8Array(32).fill(7);
    const id = x25519Identity(secret);
    const rcp = x25519Recipient(new Uint8Array(Buffer.from(require_x25519_pub(secret))));
    for (const size of [0, 1, 65535, 65536, 65537, 131072, 200000, 16 * 65536 + 1, 33 * 65536 + 5]) {
      const plain = new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);
      const parts: Buffer[] = [];
      for await (const c of encryptAge(inPieces(plain, 1000), [rcp])) parts.push(Buffer.from(c));
      const ct = Buffer.concat(parts);
      for (const pieceSize of [1, 7777, 1 << 20]) {
        if (pieceSize === 1 && size > 70000) continue;
        const d = await decryptAge(inPieces(ct, pieceSize), [id]);
        const out: Buffer[] = [];
        for await (const c of d.plaintext) out.push(Buffer.from(c));
        expect(Buffer.concat(out).equals(Buffer.from(plain))).toBe(true);
      }
    }
  });
});

import { x25519 } from '@noble/curves/ed25519.js';
function require_x25519_pub(secret: Uint8Array): Uint8Array {
  return x25519.scalarMultBase(secret);
}
