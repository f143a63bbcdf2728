/**
 * PayloadTable keeps per-member data in blocks of 65,536 entries and, in full
 * mode, reads a one-piece member's piece from the flat sha256 beside it. Both
 * are held here to a plain reference (objects per member): every accessor
 * gives the same answer across block boundaries, in full and pieces mode.
 */
import { createHash } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PayloadTable } from '../src/bundle/payload-table.js';

const enc = new TextEncoder();
const hex = (seed: string, bytes = 32): string => createHash('sha256').update(seed).digest('hex').slice(0, 2 * bytes);

interface Ref {
  name: string;
  item: string;
  size: number;
  digests: Record<string, string>;
  hashes: string[];
  root: string;
}

/** The Merkle root a one-piece member has (RFC 6962 leaf), and a stand-in for the others. */
function member(k: number, pieces: number, ownSha: boolean): Ref {
  const hashes = Array.from({ length: pieces }, (_, j) => hex(`piece ${k} ${j}`));
  const sha = pieces === 1 && ownSha ? hashes[0]! : hex(`sha256 ${k}`);
  const root = pieces === 1 ? bytesToHex(sha256(Uint8Array.of(0, ...Buffer.from(hashes[0]!, 'hex')))) : hex(`root ${k}`);
  return { name: `data/x/f${String(k).padStart(7, '0')}`, item: `item-${k % 3}`, size: k * 7, digests: { md5: hex(`md5 ${k}`, 16), sha256: sha }, hashes, root };
}

/** Every accessor against the reference; the members that differ, by index and what (empty when none). */
function check(t: PayloadTable, refs: Ref[], full: boolean): string[] {
  const bad: string[] = [];
  const same = (i: number, what: string, got: unknown, want: unknown): void => {
    if (bad.length < 5 && JSON.stringify(got) !== JSON.stringify(want)) bad.push(`${i} ${what}: ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
  };
  if (t.count !== refs.length) bad.push(`count ${t.count}`);
  refs.forEach((r, i) => {
    same(i, 'name', t.name(i), r.name);
    same(i, 'item', t.item(i), r.item);
    same(i, 'size', t.size(i), r.size);
    same(i, 'pieceCount', t.pieceCount(i), r.hashes.length);
    r.hashes.forEach((h, k) => {
      same(i, `piece ${k}`, t.pieceHex(i, k), h);
      same(i, `piece ${k} as text`, t.pieceEqualsText(i, k, enc.encode(`  ${h}`), 2), true);
    });
    if (r.hashes.length > 0) same(i, 'another piece', t.pieceEqualsText(i, 0, enc.encode(hex('other')), 0), false);
    same(i, 'root', t.rootHex(i), r.root);
    same(i, 'root equals', t.rootEquals(i, r.root), true);
    if (full) {
      same(i, 'digests', t.digests(i), r.digests);
      same(i, 'sha256 equals', t.digestEquals('sha256', i, r.digests.sha256!), true);
    }
  });
  return bad;
}

describe('PayloadTable', () => {
  it('gives back every member across block boundaries, full mode (a one-piece member whose piece is its sha256 keeps it once)', () => {
    const refs = Array.from({ length: 140_000 }, (_, k) => member(k, [1, 1, 1, 0, 2, 1, 3][k % 7]!, k % 5 !== 0));
    const t = new PayloadTable(true);
    for (const r of refs) t.add(r.name, r.item, r.size, r.digests, { pieceSize: 0, hashes: r.hashes, merkleRoot: r.root });
    expect(check(t, refs, true)).toEqual([]);
    expect(t.find(enc.encode(refs[70_001]!.name))).toBe(70_001);
  });

  it('gives back pending members filled later in any order, pieces mode (digests capped, set from the manifests)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 300 }), fc.integer(), (counts, seed) => {
        const refs = counts.map((n, k) => member(k, n, true));
        const t = new PayloadTable(true, 8);
        for (const r of refs) expect(t.addPending(r.name, r.item, r.size, r.hashes.length)).toBe(t.count - 1);
        const order = refs.map((_, i) => i).sort((a, b) => ((a * 2654435761 + seed) >>> 0) % 997 - (((b * 2654435761 + seed) >>> 0) % 997));
        for (const i of order) {
          t.setPieces(i, { pieceSize: 0, hashes: refs[i]!.hashes, merkleRoot: refs[i]!.root });
          t.setDigest('sha256', i, refs[i]!.digests.sha256!);
        }
        expect(check(t, refs, false)).toEqual([]);
        refs.forEach((r, i) => expect(t.digestHex('sha256', i)).toBe(r.digests.sha256!.slice(0, 16)));
      }),
      { numRuns: 200 },
    );
  });
});
