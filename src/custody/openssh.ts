/** OpenSSH `ssh-ed25519` public key lines (RFC 8709 §4), for people who already trust keys that way. */
import { CustodyError } from '../core/errors.js';
import { bytesEqual, concatBytes, fromBase64Strict, toBase64 } from './encoding.js';

const ALG = new TextEncoder().encode('ssh-ed25519');

function sshString(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

export function publicKeyToOpenSsh(pub: Uint8Array, comment: string): string {
  if (pub.length !== 32) throw new CustodyError('BAD_KEY', 'an Ed25519 public key is 32 bytes');
  const blob = concatBytes(sshString(ALG), sshString(pub));
  const safeComment = comment.replace(/[\r\n]/g, ' ').trim();
  return `ssh-ed25519 ${toBase64(blob)}${safeComment ? ` ${safeComment}` : ''}\n`;
}

/** Reads one `ssh-ed25519 <base64> [comment]` line. */
export function openSshToPublicKey(line: string): { publicKey: Uint8Array; comment: string } {
  const m = /^ssh-ed25519 ([A-Za-z0-9+/=]+)(?: (.*))?$/.exec(line.trim());
  if (!m) throw new CustodyError('BAD_KEY', 'not an ssh-ed25519 public key line');
  const blob = fromBase64Strict(m[1], 'ssh public key', 'BAD_KEY', 51);
  const expectedHead = sshString(ALG);
  if (!bytesEqual(blob.subarray(0, 15), expectedHead) || !bytesEqual(blob.subarray(15, 19), Uint8Array.from([0, 0, 0, 32]))) {
    throw new CustodyError('BAD_KEY', 'malformed ssh-ed25519 key blob');
  }
  return { publicKey: blob.slice(19), comment: (m[2] ?? '').trim() };
}
