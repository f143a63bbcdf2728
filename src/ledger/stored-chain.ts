/**
 * One bundle's chain of custody as the ledger stores it, re-checked on every
 * read before anything is shown as ok (`custody log --case`).
 *
 * Threat: the ledger is a SQLite file, and whoever can write it (the sqlite3
 * shell, another program, a restored backup) can insert rows without going
 * through custody: a record whose stored payload or columns differ from the
 * signed envelope, a record signed by someone outside the chain, or a whole
 * self-consistent chain signed by an outsider's key. The first two fail the
 * signature and chain rules (checkChain, the same function verify uses). The
 * third is signed correctly, so it is refused for another reason: every
 * bundle custody itself puts in the ledger carries a record signed by the
 * examiner's own key (seal, transfer or receive) or was sealed by a key in
 * the trust store; a chain with neither is not vouched for by anything here.
 * What the ledger stores beside the envelope (seq, action, time, signer,
 * payload hash) must agree with what the envelope signs.
 */
import { quotedAscii } from '../core/text.js';
import { CustodyError } from '../core/errors.js';
import { checkChain, type ChainVerdict } from '../custody/chain.js';
import { openEnvelope } from '../custody/dsse.js';
import { bytesEqual } from '../custody/encoding.js';
import { identityFromParty, parseRecordPayload, recordMemberName } from '../custody/record.js';
import type { StoredRecord } from './types.js';
import { sha256Hex } from './validate.js';

export interface StoredChainCheck {
  verdict: ChainVerdict;
  /** problems found outside checkChain, by record seq (ledger rows that disagree with what is signed) */
  problems: Map<number, string>;
}

export interface StoredChainKeys {
  /** the sound keys of the trust store */
  trusted: Uint8Array[];
  /** the examiner's own public keys (those with a secret key in <home>/keys) */
  own: Uint8Array[];
}

/** A value from a row nobody vouches for, in printable ASCII (quoted and escaped unless it is plain). */
function shown(v: unknown): string {
  const t = String(v);
  return /^[\x21-\x7e]+$/.test(t) ? t : quotedAscii(t);
}

/** Re-checks the stored records of one bundle (all rows of one bundle digest, in seq order). */
export function checkStoredChain(records: StoredRecord[], keys: StoredChainKeys): StoredChainCheck {
  const first = records[0]!;
  const problems = new Map<number, string>();
  const note = (seq: number, message: string): void => {
    if (!problems.has(seq)) problems.set(seq, message);
  };
  let sealer: Uint8Array | undefined;
  try {
    // The seal record names the sealer; checkChain then verifies the seal's signature with that key.
    sealer = identityFromParty(parseRecordPayload(openEnvelope(first.envelope).payload).predicate.by).publicKey;
  } catch {
    sealer = undefined;
  }
  const verdict: ChainVerdict = sealer
    ? checkChain({
        bundleName: first.bundleName,
        bundleDigest: first.bundleDigest,
        envelopes: records.map((r) => ({ member: recordMemberName(r.seq, r.action), bytes: r.envelope })),
        sealerPublicKey: sealer,
        // The examiner's own keys are trusted for their own bundles (DESIGN §2).
        trusted: [...keys.trusted, ...keys.own],
        strictTrust: false,
        allowUntrusted: true,
      })
    : {
        ok: false,
        records: [],
        sealerTrusted: false,
        untrustedSigners: [],
        error: new CustodyError('CHAIN_ERROR', `the ledger's seal record of bundle ${first.bundleDigest} cannot be read`),
      };

  records.forEach((r, i) => {
    const stored = sha256Hex(r.payload);
    // checkChain opened this envelope and hashed its payload (payloadSha256, '' when it did not get
    // that far): the same hash is the same payload. Otherwise the envelope is opened here.
    const opened = verdict.records[i]?.payloadSha256;
    try {
      if (opened ? opened !== stored : !bytesEqual(openEnvelope(r.envelope).payload, r.payload)) note(r.seq, 'the stored payload is not the one its envelope carries');
    } catch {
      /* checkChain reports an unreadable envelope */
    }
    if (stored !== r.payloadSha256) note(r.seq, "the ledger's payload hash is not the hash of the stored payload");
  });

  verdict.records.forEach((rv, i) => {
    const row = records[i];
    const p = rv.predicate;
    if (!row || !p) return;
    const fields: [string, unknown, unknown][] = [
      ['seq', row.seq, p.seq],
      ['action', row.action, p.action],
      ['time', row.at, p.at],
      ['signer key id', row.signerKeyid, p.by.keyid],
    ];
    const differs = fields.filter(([, stored, signed]) => stored !== signed);
    if (differs.length > 0) {
      note(p.seq, `the ledger row says ${differs.map(([what, stored, signed]) => `${what} ${shown(stored)} where the signed record says ${shown(signed)}`).join(', ')}`);
    }
  });

  if (verdict.ok && problems.size === 0 && !verdict.records.some((rv) => rv.trusted === true)) {
    note(
      verdict.records[0]!.seq,
      `no record of this bundle is signed by your own key or a trusted key (sealer key id ${verdict.records[0]!.signer?.keyid ?? '?'}): nothing you hold vouches for these ledger rows (if that key is genuine, confirm its fingerprint and custody trust add it)`,
    );
  }
  return { verdict, problems };
}
