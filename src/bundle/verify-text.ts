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
  /** Some name holds a '%' (written "%25" in the manifests). */
  percentNames: boolean;
  /** Payload paths (data/…) whose names hold CR or LF (written %0D/%0A): sha256sum cannot check them. */
  lineBreakNames?: string[];
}

/** POSIX shell quoting: safe for any name (single quotes, with ' as '\''). */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9._\/-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const COREUTILS: Record<string, string> = { md5: 'md5sum', sha1: 'sha1sum', sha512: 'sha512sum' };

/**
 * Step 8: every custody record checked with sh, sed, base64, sha256sum and
 * openssl, one POSIX shell command (continued on the `>` lines) that loops over
 * whatever records are in custody/chain/ when it runs: VERIFY.txt is written at
 * seal time, the transfer and receive records come later.
 *
 * For each record: the envelope must be exactly the bytes custody writes
 * (rebuilt from its decoded parts, so no second spelling of the same record
 * passes), the payload an in-toto statement of the custody form; then subject
 * = the bundle digest, seq = its place, prev = SHA-256 of the previous
 * payload, the file name = seq and action, the signer = the custodian (the
 * sealer's key, then the key each transfer names), the envelope keyid = that
 * key's id, the action order (seal, then transfer/receive pairs), and the
 * Ed25519 signature over DSSE's PAE of the payload, with a PEM rebuilt from
 * the record's raw key (the fixed 12-byte Ed25519 SPKI prefix
 * 302a300506032b6570032100, written in octal for printf).
 */
const CHAIN_STEP: string[] = [
  '8. Check every custody record in custody/chain/ (the signed seal, transfer and',
  '   receive records, DSSE envelopes of in-toto statements): its Ed25519',
  "   signature over DSSE's PAE bytes (\"DSSEv1 28 application/vnd.in-toto+json",
  '   <payload length> <payload>"), checked by openssl with the signer\'s PEM',
  '   rebuilt from the record\'s base64 key (DER = 302a300506032b6570032100 then',
  '   the 32-byte key); that it names this bundle (the digest of step 4); its',
  '   seq (0, 1, 2, ...: a record removed from the middle breaks it); its prev',
  '   (the SHA-256 of the previous payload); and its signer: the sealer for the',
  '   seal, then whoever the last transfer named. Paste it into sh (dash, bash);',
  '   it prints "OK <record>" for each record and stops at the first failure:',
  String.raw`   $ ( t=$(mktemp -d) && trap 'rm -rf "$t"' EXIT`,
  String.raw`   >   bad() { echo "FAILED: $r: $*"; exit 1; }`,
  String.raw`   >   S='"([^"\\]|\\.)*"'; F="(\"[A-Za-z]+\":$S,)*"; K='"publicKey":"([A-Za-z0-9+/]{43}=)"'`,
  String.raw`   >   E='^\{"payloadType":"application/vnd\.in-toto\+json","payload":"([A-Za-z0-9+/=]+)","signatures":\[\{"keyid":"([0-9a-f]{16})","sig":"([A-Za-z0-9+/=]+)"\}\]\}$'`,
  String.raw`   >   ST='^\{"_type":"https://in-toto\.io/Statement/v1","subject":\[\{"name":"[A-Za-z0-9._-]+","digest":\{"sha256":"([0-9a-f]{64})"\}\}\],"predicateType":"urn:custody:record:v1","predicate":\{"seq":(0|[1-9][0-9]*),"prev":(null|"sha256:[0-9a-f]{64}"),"action":"([a-z]+)","at":"[^"\\]*","by":\{'"$F$K"'\}(,"to":\{'"$F$K"'\})?(,.*)?\}\}$'`,
  String.raw`   >   digest=$(sha256sum tagmanifest-sha256.txt | sed 's/ .*//'); holder=$(sed -n 2p custody/sealer.pem); n=0; prev=null; last=none`,
  String.raw`   >   for r in custody/chain/*.dsse.json; do [ -f "$r" ] || bad "no custody records"`,
  String.raw`   >     set -- $(sed -En "s#$E#\1 \2 \3#p" "$r"); [ $# = 3 ] || bad "not a DSSE envelope in the form custody writes"`,
  String.raw`   >     printf %s "$1" | base64 -d > "$t/payload" && printf %s "$3" | base64 -d > "$t/sig" || bad "bad base64"; kid=$2`,
  String.raw`   >     printf '{"payloadType":"application/vnd.in-toto+json","payload":"%s","signatures":[{"keyid":"%s","sig":"%s"}]}\n' "$(base64 -w0 < "$t/payload")" "$kid" "$(base64 -w0 < "$t/sig")" > "$t/env"`,
  String.raw`   >     [ "$(sha256sum < "$t/env")" = "$(sha256sum < "$r")" ] || bad "the envelope is not byte for byte the form custody writes"`,
  String.raw`   >     set -- $(sed -En "s#$ST#\1 \2 \3 \4 \7#p" "$t/payload"); [ $# = 5 ] || bad "the payload is not a custody record statement"`,
  String.raw`   >     [ "$1" = "$digest" ] || bad "names bundle $1, not this bundle ($digest)"`,
  String.raw`   >     [ "$2" = "$n" ] || bad "seq $2 where $n must come (a record missing, added or out of order)"`,
  String.raw`   >     [ "$3" = "$prev" ] || bad "prev $3, but the previous payload's SHA-256 is $prev"`,
  String.raw`   >     case $r in "custody/chain/$(printf %04d "$n")-$4.dsse.json") ;; *) bad "file name does not match seq $n and action $4";; esac`,
  String.raw`   >     case $4:$last in seal:none|transfer:seal|transfer:receive|receive:transfer) ;; *) bad "$4 after $last";; esac`,
  String.raw`   >     key=$( { printf '\060\052\060\005\006\003\053\145\160\003\041\000'; printf %s "$5" | base64 -d; } | base64 -w0)`,
  String.raw`   >     [ "$key" = "$holder" ] || bad "signed by key $5, which is not the custodian's"`,
  String.raw`   >     [ "$(printf %s "$5" | base64 -d | sha256sum | sed -E 's/^(.{16}).*/\1/')" = "$kid" ] || bad "envelope keyid $kid is not the signer's"`,
  String.raw`   >     printf '%s\n%s\n%s\n' '-----BEGIN PUBLIC KEY-----' "$key" '-----END PUBLIC KEY-----' > "$t/key.pem"`,
  String.raw`   >     { printf 'DSSEv1 28 application/vnd.in-toto+json %s ' "$(($(wc -c < "$t/payload")))"; cat "$t/payload"; } > "$t/pae"`,
  String.raw`   >     openssl pkeyutl -verify -pubin -inkey "$t/key.pem" -rawin -in "$t/pae" -sigfile "$t/sig" > /dev/null || bad "the signature does not verify"`,
  String.raw`   >     if [ "$4" = transfer ]; then`,
  String.raw`   >       to=$(sed -En "s#^.*\"by\":\{$F$K\},\"to\":\{$F$K\}.*\$#\6#p" "$t/payload"); [ -n "$to" ] || bad "a transfer that names no recipient"`,
  String.raw`   >       holder=$( { printf '\060\052\060\005\006\003\053\145\160\003\041\000'; printf %s "$to" | base64 -d; } | base64 -w0)`,
  String.raw`   >     fi`,
  String.raw`   >     echo "OK $r ($4)"; prev="\"sha256:$(sha256sum < "$t/payload" | sed 's/ .*//')\""; n=$((n + 1)); last=$4`,
  String.raw`   >   done )`,
  '',
  '   The last record shows where the bundle stands: a transfer is still in',
  '   transit; a receive, or the seal, names who holds it. A copy whose last',
  '   records were cut off still passes here (ask the sender or the ledger).',
];

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
  );
  // RFC 8493 percent-encodes '%', CR and LF in manifest paths; coreutils does not decode them.
  // Where '%25' is the only escape, sed turns it back (it is exact: every '%' in a path begins one).
  const breaks = v.lineBreakNames ?? [];
  const decode = breaks.length > 0 ? "sed -e '/%0[AD]/d' -e 's/%25/%/g'" : v.percentNames ? "sed 's/%25/%/g'" : undefined;
  const check = (tool: string, algo: string) => (decode ? `${decode} manifest-${algo}.txt | ${tool} -c -` : `${tool} -c manifest-${algo}.txt`);
  L.push('2. Check every evidence file against the SHA-256 payload manifest:', `   $ ${check('sha256sum', 'sha256')}`);
  const others = v.algorithms.filter((a) => COREUTILS[a] !== undefined);
  if (others.length > 0) {
    L.push('', '   The other payload manifests, with the matching coreutils tool:');
    for (const a of others) L.push(`   $ ${check(COREUTILS[a]!, a)}`);
  }
  if (v.percentNames) {
    L.push(
      '',
      '   Names containing "%" are written as "%25" in the manifests (RFC 8493 asks',
      '   for it); sed turns them back before sha256sum reads the list.',
    );
  }
  if (breaks.length > 0) {
    L.push(
      '',
      '   Names containing a line break are written with %0D/%0A in the manifests;',
      '   sha256sum cannot check them, so the lines above leave them out. Check',
      '   these with custody verify:',
      ...breaks.map((b) => `     ${JSON.stringify(b)}`),
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
  L.push('', ...CHAIN_STEP);
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
