/**
 * Seal's spill (seal-spill.ts) gives back what was put in: each file's
 * digests and piece digests, read by file number in any order (the manifests
 * read them in path order, member order with subtrees moved, through runs of
 * records read at once), and every file's entry, line by line, whatever the
 * size of a line against the reads. A file of one piece keeps that piece's
 * digest once, as its SHA-256, and a piece digest that is not the file's
 * SHA-256 is refused rather than written.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { ManifestFile } from '../src/bundle/custody-manifest.js';
import { SealSpill } from '../src/bundle/seal-spill.js';
import { tempDir } from './helpers/cli.js';

const root = tempDir('custody-spill-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const hex = (s: string, algo: string) => createHash(algo).update(s).digest('hex');

function entry(i: number, pieces: number, nameLength = 10): { mf: ManifestFile; pieceHashes: string[] | undefined } {
  const sha256 = hex(`f${i}`, 'sha256');
  const pieceHashes = pieces === 0 ? undefined : pieces === 1 ? [sha256] : Array.from({ length: pieces }, (_, p) => hex(`f${i}p${p}`, 'sha256'));
  const mf: ManifestFile = {
    path: `data/x/${String(i).padStart(nameLength, 'n')}`,
    item: 'x',
    size: i,
    mtime: new Date(i * 1000).toISOString(),
    hashes: { md5: hex(`f${i}`, 'md5'), sha256 },
  };
  if (pieceHashes) mf.pieces = { count: pieces, merkleRoot: hex(`m${i}`, 'sha256') };
  return { mf, pieceHashes };
}

let n = 0;
const newSpill = () => new SealSpill(['md5', 'sha256'], path.join(root, `s${n++}`));

describe('the seal spill', () => {
  it('gives back each file’s digests and pieces, by number, in any order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 1400, size: 'max' }),
        fc.array(fc.nat(), { maxLength: 300, size: 'max' }),
        (pieceCounts, probes) => {
          const spill = newSpill();
          try {
            const put = pieceCounts.map((p, i) => entry(i, p));
            for (const e of put) spill.add(e.mf, e.pieceHashes);
            spill.endFiles();
            // Member order, then random probes (runs read again and again), then backwards.
            const order = [...put.keys(), ...probes.map((p) => p % put.length), ...[...put.keys()].reverse()];
            for (const i of order) {
              const rec = spill.record(i);
              expect(rec.digests).toEqual(put[i]!.mf.hashes);
              expect(rec.pieceCount).toBe(put[i]!.pieceHashes?.length ?? 0);
              expect(spill.pieceHashes(rec)).toEqual(put[i]!.pieceHashes ?? []);
            }
            expect(() => spill.record(put.length)).toThrow(/no record/);
          } finally {
            spill.close();
          }
        },
      ),
      { numRuns: 20, endOnFailure: true }, // shrinking a thousand files would take minutes
    );
  });

  it('gives back every entry line by line, lines cut across reads', () => {
    const spill = newSpill();
    try {
      // ~1.5 MiB of short lines, then 40 lines of 60 KiB (near the most an entry may have): lines straddle reads.
      const put = [...Array.from({ length: 6000 }, (_, i) => entry(i, 1).mf), ...Array.from({ length: 40 }, (_, j) => entry(6000 + j, 0, 60_000).mf)];
      for (const mf of put) spill.add(mf, mf.pieces ? [mf.hashes.sha256!] : undefined);
      spill.endFiles();
      let i = 0;
      for (const f of spill.files()) expect(f, `entry ${i}`).toEqual(put[i++]);
      expect(i).toBe(put.length);
    } finally {
      spill.close();
    }
  });

  it('refuses a one-piece file whose piece digest is not its SHA-256', () => {
    const spill = newSpill();
    try {
      const { mf } = entry(1, 1);
      expect(() => spill.add(mf, [hex('other', 'sha256')])).toThrow(/one piece is not its SHA-256/);
    } finally {
      spill.close();
    }
    expect(fs.existsSync(spill.dir)).toBe(false);
  });
});
