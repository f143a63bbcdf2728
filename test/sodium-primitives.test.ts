/**
 * libsodium under the verification core, as `custody log --case` installs it
 * (cli/sodium-primitives.ts), changes no result: the shared suite
 * (test/helpers/quick-primitives.ts), with sodium-native's own binary loaded
 * (the test fails where it does not load, rather than passing on OpenSSL).
 */
import { expect } from 'vitest';
import { loadSodiumPrimitives, sodiumAccepts, sodiumSha256, useSodiumPrimitives, type SodiumPrimitives } from '../src/cli/sodium-primitives.js';
import { quickPrimitivesSuite } from './helpers/quick-primitives.js';

let sodium: SodiumPrimitives | null = null;
const loaded = (): SodiumPrimitives => (sodium ??= loadSodiumPrimitives()) ?? expect.fail('sodium-native does not load');

quickPrimitivesSuite({
  name: 'libsodium',
  install: () => {
    loaded();
    expect(useSodiumPrimitives()).toBe(true);
  },
  sha256: (bytes) => sodiumSha256(loaded(), bytes),
  accepts: (sig, msg, pub) => sodiumAccepts(loaded(), sig, msg, pub),
  acceptsIdentityAlone: false,
});
