/**
 * VERIFY.txt: how a receiving authority checks the bundle with stock tools
 * only (no trust in our software). Every line that starts with `   $ ` is a
 * command that the tests run exactly as written, in order, from the folder
 * where the bundle file lies.
 *
 * VERIFY.txt is itself listed in the tagmanifest, so it cannot contain the
 * bundle digest (the digest of the tagmanifest); step 4 computes it.
 */
import { pieceRange } from './pieces.js';

export interface VerifyTextInput {
  bundleFile: string; // the tar's file name as written by seal
  bagName: string;
  caseId: string;
  sealer: { name: string; org?: string; role?: string; keyid: string; fingerprint: string };
  algorithms: string[];
  pieceSize: number;
  /** The first payload file with at least one piece, for the dd example. */
  firstPiece?: { path: string; size: number; digest: string };
  percentNames: boolean;
}

/** POSIX shell quoting: safe for any name (single quotes, with ' as '\''). */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9._\/-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const COREUTILS: Record<string, string> = { md5: 'md5sum', sha1: 'sha1sum', sha512: 'sha512sum' };

export function verifyText(v: VerifyTextInput): string {
  const who = [v.sealer.name, v.sealer.org, v.sealer.role].filter(Boolean).join(', ');
  const L: string[] = [];
  L.push(
    'HOW TO VERIFY THIS EVIDENCE BUNDLE WITH STOCK TOOLS',
    '',
    `Bundle folder: ${v.bagName}    Case: ${v.caseId}`,
    `Sealed by:     ${who} (key id ${v.sealer.keyid})`,
    '',
    'Sealer key fingerprint (SHA-256 of the raw 32-byte Ed25519 public key):',
    '',
    `    ${v.sealer.fingerprint}`,
    '',
    'Confirm this fingerprint with the sealer OUT OF BAND (by phone, letter or',
    'your usual channel) before relying on anything below. The key inside the',
    'bundle only proves that whoever sealed it held that key.',
    '',
    'Tools: GNU tar, coreutils (sha256sum), OpenSSL 3 (openssl), minisign.',
    'Each command below must succeed (exit status 0, every line "OK").',
    '',
    '1. Unpack the bundle and enter the bag (a BagIt 1.0 bag, RFC 8493):',
    `   $ tar -xf ${shellQuote(v.bundleFile)}`,
    `   $ cd ${shellQuote(v.bagName)}`,
    '',
    '2. Check every evidence file against the SHA-256 payload manifest:',
    '   $ sha256sum -c manifest-sha256.txt',
  );
  const others = v.algorithms.filter((a) => COREUTILS[a] !== undefined);
  if (others.length > 0) {
    L.push('', '   The other payload manifests, with the matching coreutils tool:');
    for (const a of others) L.push(`   $ ${COREUTILS[a]} -c manifest-${a}.txt`);
  }
  if (v.percentNames) {
    L.push(
      '',
      '   Names containing "%" are written as "%25" in the manifests (RFC 8493);',
      '   sha256sum reports those files as missing: check them with custody verify.',
    );
  }
  L.push(
    '',
    '3. Check every tag file (manifests, custody/manifest.json, the keys, this',
    '   file) against the tag manifest:',
    '   $ sha256sum -c tagmanifest-sha256.txt',
    '',
    '4. The bundle digest, which names this bundle in every custody record, is',
    '   the SHA-256 of the tag manifest:',
    '   $ sha256sum tagmanifest-sha256.txt',
    '',
    "5. Check the sealer's Ed25519 signature over the tag manifest (OpenSSL 3):",
    '   $ openssl pkeyutl -verify -pubin -inkey custody/sealer.pem -rawin -in tagmanifest-sha256.txt -sigfile custody/seal.sig',
    '',
    '6. The same with minisign (its trusted comment names the bundle digest and the case):',
    '   $ minisign -Vm tagmanifest-sha256.txt -x custody/seal.minisig -p custody/sealer.minisign.pub',
    '',
    '7. Check that custody/sealer.pem holds the key whose fingerprint is printed',
    '   above (the last 32 bytes of the DER key are the raw public key):',
    '   $ openssl pkey -pubin -in custody/sealer.pem -outform DER | tail -c 32 | sha256sum',
  );
  if (v.pieceSize > 0) {
    L.push(
      '',
      `Pieces: custody/pieces-sha256.txt lists the SHA-256 of every ${v.pieceSize}-byte piece`,
      'of every file with its byte range, so a large image can be checked in parts',
      'or the changed part of a damaged copy found. To check piece n of a file:',
      `dd if=<file> bs=${v.pieceSize} skip=<n> count=1 status=none | sha256sum`,
    );
    if (v.firstPiece) {
      const [a, b] = pieceRange(v.pieceSize, v.firstPiece.size, 0);
      L.push(
        `For example, bytes ${a}-${b} of ${v.firstPiece.path} must give ${v.firstPiece.digest}:`,
        `   $ dd if=${shellQuote(v.firstPiece.path)} bs=${v.pieceSize} skip=0 count=1 status=none | sha256sum`,
      );
    }
  }
  L.push(
    '',
    'Custody records: custody/chain/NNNN-<action>.dsse.json are the signed',
    'hand-over records (DSSE envelopes of in-toto statements), one per seal,',
    'transfer and receive, each naming the bundle digest of step 4 and the',
    'SHA-256 of the record before it. `custody verify` and `custody log` check',
    'and print them; custody/manifest.json describes the items and their hashes.',
    '',
  );
  return L.join('\n');
}
