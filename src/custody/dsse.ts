/**
 * DSSE envelopes (https://github.com/secure-systems-lab/dsse, v1.0): the
 * signature covers PAE(payloadType, payload) over the exact payload bytes, so
 * no JSON canonicalisation is ever needed. We write and accept exactly one
 * signature per envelope.
 *
 * Threats: extra signatures or fields a different reader might honour;
 * duplicate keys; several base64 spellings of one payload. All are refused.
 * The payload is NOT parsed here: callers parse it only after the signature
 * has verified (see chain.ts).
 */
import { CustodyError } from '../core/errors.js';
import { bytesEqual, concatBytes, fromBase64Strict, toBase64, utf8 } from './encoding.js';
import type { Signer } from './identity.js';
import { asObject, onlyKeys, parseStrictJson } from './strict-json.js';

export const PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** DSSE v1 Pre-Authentication Encoding: "DSSEv1" SP len(type) SP type SP len(body) SP body. */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = utf8(payloadType);
  const head = utf8(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `);
  return concatBytes(head, payload);
}

export interface OpenedEnvelope {
  payloadType: string;
  payload: Uint8Array;
  keyid: string;
  sig: Uint8Array;
}

/** The exact bytes of an envelope: one line of JSON in this key order, then a line feed. */
function envelopeBytes(payloadType: string, payload: Uint8Array, keyid: string, sig: Uint8Array): Uint8Array {
  const doc = { payloadType, payload: toBase64(payload), signatures: [{ keyid, sig: toBase64(sig) }] };
  return utf8(`${JSON.stringify(doc)}\n`);
}

export function signEnvelope(payload: Uint8Array, signer: Signer, payloadType = PAYLOAD_TYPE): Uint8Array {
  return envelopeBytes(payloadType, payload, signer.identity.keyid, signer.sign(pae(payloadType, payload)));
}

/** Parses an envelope strictly; does not verify (the caller knows which key must have signed). */
export function openEnvelope(bytes: Uint8Array, what = 'DSSE envelope'): OpenedEnvelope {
  const doc = asObject(parseStrictJson(bytes, what), what);
  onlyKeys(doc, ['payloadType', 'payload', 'signatures'], what, 'MALFORMED_BUNDLE');
  if (typeof doc.payloadType !== 'string') throw new CustodyError('MALFORMED_BUNDLE', `${what} has no payloadType`);
  const payload = fromBase64Strict(doc.payload, `${what} payload`);
  const sigs = doc.signatures;
  if (!Array.isArray(sigs)) throw new CustodyError('MALFORMED_BUNDLE', `${what} has no signatures list`);
  if (sigs.length !== 1) {
    throw new CustodyError('SIGNATURE_ERROR', `${what} has ${sigs.length} signatures; exactly one is allowed`);
  }
  const s = asObject(sigs[0], `${what} signature`);
  onlyKeys(s, ['keyid', 'sig'], `${what} signature`, 'MALFORMED_BUNDLE');
  if (typeof s.keyid !== 'string' || !/^[0-9a-f]{16}$/.test(s.keyid)) {
    throw new CustodyError('SIGNATURE_ERROR', `${what} signature keyid is not a 16-hex-digit key id`);
  }
  const sig = fromBase64Strict(s.sig, `${what} signature`, 'SIGNATURE_ERROR', 64);
  // The envelope itself is pinned too: re-indented JSON, reordered keys, "\/" for "/" or another line end
  // would verify (the signature covers the payload only) while changing bytes of the bundle.
  if (!bytesEqual(bytes, envelopeBytes(doc.payloadType, payload, s.keyid, sig))) {
    throw new CustodyError('MALFORMED_BUNDLE', `${what} is not byte for byte the envelope custody writes (one line of JSON in a fixed key order, then a line feed)`);
  }
  return { payloadType: doc.payloadType, payload, keyid: s.keyid, sig };
}
