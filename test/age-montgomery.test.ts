/**
 * The ssh-ed25519 recipient maps an Ed25519 key to X25519 with custody's own
 * few lines (the birational map and the clamped SHA-512 half) instead of
 * loading @noble/curves: here they are held to @noble/curves' toMontgomery
 * and toMontgomerySecret on random keys, and bytes that are no point are
 * refused by both.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { montgomeryFromEdwards, montgomerySecretFromSeed } from '../src/custody/age/recipients.js';

describe('the Ed25519 to X25519 conversion of ssh-ed25519 recipients', () => {
  it('gives the same X25519 public key as @noble/curves for random Ed25519 keys', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        const pub = ed25519.getPublicKey(seed);
        expect(Buffer.from(montgomeryFromEdwards(pub))).toEqual(Buffer.from(ed25519.utils.toMontgomery(pub)));
      }),
      { numRuns: 200 },
    );
  });

  it('gives the same X25519 secret as @noble/curves for random seeds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        expect(Buffer.from(montgomerySecretFromSeed(seed))).toEqual(Buffer.from(ed25519.utils.toMontgomerySecret(seed)));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses bytes that are no curve point, and the identity, as @noble/curves does', () => {
    const notPoint = new Uint8Array(32);
    notPoint[0] = 2; // y = 2 has no x on edwards25519
    const identity = new Uint8Array(32);
    identity[0] = 1; // y = 1: 1 − y has no inverse
    const nonCanonical = new Uint8Array(32).fill(0xff);
    nonCanonical[31] = 0x7f; // y ≥ p
    for (const bytes of [notPoint, identity, nonCanonical]) {
      expect(() => ed25519.utils.toMontgomery(bytes)).toThrow();
      expect(() => montgomeryFromEdwards(bytes)).toThrow();
    }
  });
});
