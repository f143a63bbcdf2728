import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { merkleRoot } from '../src/core/merkle.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sha = (...p: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const x of p) h.update(x);
  return new Uint8Array(h.digest());
};

// Certificate Transparency's RFC 6962 Merkle tree test vectors
// (google/certificate-transparency cpp/merkletree/merkle_tree_test.cc; also RFC 9162 reference tests):
// leaves are these byte strings; roots of the first n leaves, n = 1..8.
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** An independent formulation (RFC 6962 §2.1 bottom-up with carried odd nodes) to cross-check the recursive one. */
function bottomUp(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha();
  let level = leaves.map((l) => sha(Uint8Array.of(0), l));
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(sha(Uint8Array.of(1), level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

describe('RFC 6962 Merkle root', () => {
  it('matches the Certificate Transparency vectors for 1..8 leaves', () => {
    const leaves = CT_LEAVES.map((h) => new Uint8Array(Buffer.from(h, 'hex')));
    CT_ROOTS.forEach((root, i) => expect(hex(merkleRoot(leaves.slice(0, i + 1)))).toBe(root));
  });

  it('empty list is SHA-256 of the empty string', () => {
    expect(hex(merkleRoot([]))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('equals a bottom-up construction for any number of leaves', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 70 }), (leaves) => {
        expect(hex(merkleRoot(leaves))).toBe(hex(bottomUp(leaves)));
      }),
    );
  });

  it('a leaf cannot stand in for an inner node (second-preimage attack on unprefixed trees)', () => {
    const a = sha(Uint8Array.of(1));
    const b = sha(Uint8Array.of(2));
    // Without the 0x00/0x01 prefixes, the one-leaf tree over the leaf hashes' concatenation would equal the two-leaf tree.
    const forged = Buffer.concat([sha(Uint8Array.of(0), a), sha(Uint8Array.of(0), b)]);
    expect(hex(merkleRoot([a, b]))).not.toBe(hex(merkleRoot([forged])));
    expect(hex(merkleRoot([a, b]))).toBe(hex(sha(Uint8Array.of(1), forged)));
  });
});
