/**
 * Every verify check carries a stable id, in a fixed order, and the verdict
 * names the id of the check whose failure it reports: what --json consumers
 * and the verifier page rely on (the English text beside it may change).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashEngine } from '../src/core/engine.js';
import { CHECK_IDS, verifyBundle } from '../src/bundle/verify.js';
import { tempDir } from './helpers/cli.js';
import { SEALER, buildTar, chunks, membersOf, sealFixture, writeTree } from './helpers/hostile-bundle.js';

let engine: HashEngine;
let good: Uint8Array;
beforeAll(async () => {
  engine = new HashEngine();
  const dir = tempDir();
  writeTree(dir, { 'ev/a.bin': new Uint8Array(20_000).fill(4) });
  good = (await sealFixture(engine, dir, [{ path: path.join(dir, 'ev'), meta: {} }])).bytes;
});
afterAll(async () => {
  await engine.close();
});

const verify = (bytes: Uint8Array, mode: 'full' | 'pieces' = 'full', trusted = [SEALER.identity.publicKey]) =>
  verifyBundle(chunks(bytes, 1 << 16), { engine, mode, trusted });

describe('check ids', () => {
  it('lists every check with its id, in the documented order', async () => {
    const v = await verify(good, 'pieces');
    expect(v.ok).toBe(true);
    const order = CHECK_IDS.map(String);
    const ids = v.checks.map((c) => (c.id.startsWith('manifest.') ? 'manifest.<alg>' : c.id));
    expect([...new Set(ids)]).toEqual(order);
    expect(v.checks.filter((c) => c.id.startsWith('manifest.')).map((c) => c.id)).toEqual(['manifest.md5', 'manifest.sha1', 'manifest.sha256']);
    expect(v.failed).toBeUndefined();
  });

  it('names the failing check: a flipped evidence byte, a changed tag file, an untrusted sealer, a broken tar', async () => {
    const at = Buffer.from(good).indexOf(Buffer.alloc(64, 4)) + 100;
    const flipped = good.slice();
    flipped[at]! ^= 1;
    expect((await verify(flipped, 'pieces')).failed).toBe('payload.pieces');
    expect((await verify(flipped, 'full')).failed).toBe('manifest.md5');

    const { members } = await membersOf(good);
    const changed = members.map((m) => (m.name.endsWith('custody/manifest.json') ? { ...m, data: new TextEncoder().encode('{}') } : m));
    expect((await verify(buildTar(changed))).failed).toBe('tags.manifest');

    expect((await verify(good, 'full', [])).failed).toBe('seal.trust');
    expect((await verify(good.subarray(0, 700))).failed).toBe('bundle.structure');
  });
});
