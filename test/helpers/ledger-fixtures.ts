/** Plain-data inputs for ledger tests: records are opaque bytes to the ledger, so any bytes do. */
import { createHash, randomBytes } from 'node:crypto';
import type { RecordAction, RecordInput, SealInput } from '../../src/ledger/index.js';

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');
export const randomDigest = (): string => hex(randomBytes(32));

export function record(seq: number, action: RecordAction, salt = '', at = `2026-11-2${Math.min(seq, 9)}T10:00:00.000Z`): RecordInput {
  const payload = new TextEncoder().encode(JSON.stringify({ seq, action, salt }));
  return {
    seq,
    action,
    payload,
    envelope: new TextEncoder().encode(JSON.stringify({ payload: Buffer.from(payload).toString('base64'), sig: salt })),
    signerKeyid: sha256(`signer-${seq}`).slice(0, 16),
    at,
  };
}

export function sealInput(over: Partial<SealInput> = {}): SealInput {
  return {
    bundleDigest: randomDigest(),
    bundleName: 'case-2026-041',
    path: '/evidence/case-2026-041.tar',
    caseId: '2026-041',
    items: [{ id: 'disk01', description: 'Laptop SSD', details: { source: 'Samsung 870', serial: 'S5X' } }],
    files: [
      {
        itemId: 'disk01',
        path: 'data/disk01/image.dd',
        size: 1234,
        hashes: { md5: sha256('a').slice(0, 32), sha1: sha256('b').slice(0, 40), sha256: sha256('c') },
        pieceCount: 1,
        merkleRoot: sha256('root'),
      },
    ],
    record: record(0, 'seal'),
    ...over,
  };
}
