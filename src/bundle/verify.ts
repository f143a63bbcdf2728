/**
 * verify: reads a bundle in one streaming pass (read-bundle.ts), then checks,
 * in this order, so that the reason given is the most telling one:
 *
 *  1. the tagmanifest lists exactly the tag files and each digest matches;
 *  2. custody/sealer.pem and custody/sealer.minisign.pub hold the same strong key;
 *  3. the raw Ed25519 signature and the minisign signature over the tagmanifest;
 *  4. the sealer is trusted (trust store or --trust), unless --allow-untrusted;
 *  5. Payload-Oxum; every payload file against every manifest-<alg>.txt (a
 *     mismatch names the member, the item and the piece byte range that differs);
 *     in pieces mode, every payload file against its lines of
 *     custody/pieces-sha256.txt instead, and the manifests for consistency only;
 *  6. custody/manifest.json agrees with bag-info and with what was computed
 *     (sizes, hashes, piece counts, Merkle roots, sealer key);
 *  7. custody/pieces-sha256.txt equals the piece hashes computed;
 *  8. the custody chain (DESIGN §4, the shared checkChain).
 *
 * The big tag files (steps 5–7) are compared with the payload while they
 * stream (read-bundle.ts keeps compact per-member data, not the files); what
 * they found is reported here, in this order, once the seal holds.
 *
 * Two modes:
 *  - full: every flat hash (md5, sha1, sha256 …) and every piece SHA-256 is
 *    recomputed from the data and compared.
 *  - pieces (only when Custody-Piece-Size > 0): only the piece SHA-256s are
 *    computed, in parallel workers. Sound because every payload byte lies in
 *    exactly one piece (the ranges are derived from the sizes read, not taken
 *    from the file), each piece's SHA-256 is compared with
 *    custody/pieces-sha256.txt, and that file is bound by the tagmanifest the
 *    sealer signed. The flat manifests are signed too but NOT recomputed: they
 *    are checked for consistency only (each lists exactly the payload files;
 *    custody/manifest.json's hashes equal their entries; its piece counts and
 *    Merkle roots equal what was computed). A sealer who signed flat hashes
 *    that do not belong to the data would go unnoticed here: --full catches it.
 *
 * Every check runs (the verdict lists each with its result and its stable
 * id); the first failure in this order is the verdict's error. No tag file is
 * parsed before the tag manifest and the sealer's signature over it hold.
 * Nothing here touches the file system: the bytes come in as a stream, the
 * hashing through an injected hasher, trust material as arguments.
 *
 * verifyBundle is the outline; each step is a function of its own over the
 * explicit VerifyState (what was read, and what earlier steps established).
 * A new check is a new step with its own id, added to the outline.
 */
import { CustodyError, VERIFICATION_CODES, type ErrorCode } from '../core/errors.js';
import type { Hasher } from '../core/hasher.js';
import { assertCaseId } from '../core/case-id.js';
import { sha256Hex } from '../core/digest.js';
import { checkChain, rejudgeChain, type ChainRule, type ChainVerdict, type CheckedRecords } from '../custody/chain.js';
import { assertStrongPublicKey, fingerprint, keyId, verifyEd25519 } from '../custody/ed25519.js';
import { bytesEqual, toBase64 } from '../custody/encoding.js';
import { sameKey } from '../custody/identity.js';
import { minisignPublicKeyFromText, minisignVerify } from '../custody/minisign.js';
import { spkiPemToPublicKey } from '../custody/pem.js';
import { decodeUtf8 } from './bag-info.js';
import type { CustodyManifest } from './custody-manifest.js';
import * as L from './layout.js';
import { parseManifest } from './manifests.js';
import { readBundle, type BundleSink, type ReadBundle, type ReadMode, type SeekablePayload } from './read-bundle.js';

export type { BundleSink, ReadBundle, ReadMode } from './read-bundle.js';

export interface VerifyOptions {
  engine: Hasher;
  /** full (default) or pieces; pieces falls back to full for a bundle with piece size 0. */
  mode?: ReadMode;
  /** Trust store keys plus every --trust key. */
  trusted: Uint8Array[];
  /** Fingerprints given as trust anchors (64 lowercase hex): the sealer is trusted if its key has one. */
  trustedFingerprints?: string[];
  /** The verifier's own keys: trusted for its own bundles ("trusted: own key"). */
  ownKeys?: Uint8Array[];
  strictTrust?: boolean;
  allowUntrusted?: boolean;
  /**
   * Records kept beside a read-only bundle (--receipt), appended after the
   * bundle's own; given the number of records in the bundle (to name them).
   */
  extraRecords?: (chainLength: number) => { member: string; bytes: Uint8Array }[];
  sink?: BundleSink;
  /** A seekable bundle file: pieces mode hashes the payload with positioned reads on every worker (read-bundle.ts). */
  seekable?: SeekablePayload;
  onProgress?: (payloadDone: number, payloadTotal: number) => void;
  /** Keep custody/manifest.json's files in the verdict's manifest (default true; verify alone needs none, and a million cost ~500 MB; 'times': see ReadOptions). */
  keepFiles?: boolean | 'times';
  /** The clock records are checked against (default: now). */
  now?: Date;
  /** What the bytes are called in messages (the bundle's file name, "stdin"). */
  label?: string;
  /**
   * The records already checked from this bundle's headers (receive does, to
   * fail fast): when they are the records read here, only trust and the clock
   * are judged again (rejudgeChain), not every rule and signature twice.
   */
  checkedRecords?: CheckedRecords;
}

/**
 * Stable ids of the checks, in the order they run: what `--json`, scripts
 * and the verifier page rely on (the text beside them is for people and may
 * change). `manifest.<alg>` is one per algorithm of the bundle.
 */
export const CHECK_IDS = [
  'bundle.structure',
  'verify.mode',
  'bag.info',
  'tags.manifest',
  'seal.key',
  'seal.signature',
  'seal.minisign',
  'seal.trust',
  'bag.oxum',
  'manifest.<alg>',
  'payload.pieces',
  'custody.manifest',
  'pieces.list',
  'chain',
] as const;
/** `chain.<rule>` (custody/chain.ts CHAIN_RULES) names the broken chain rule in BundleVerdict.failed. */
export type CheckId = Exclude<(typeof CHECK_IDS)[number], 'manifest.<alg>'> | `manifest.${string}` | 'bundle.journal' | 'bundle.decryption' | 'media' | 'chain.ledger' | ChainRule;

export interface Check {
  id: CheckId;
  check: string;
  ok: boolean;
  detail: string;
}

export interface BundleVerdict {
  ok: boolean;
  /** The mode that ran (absent when the bundle could not be read). */
  mode?: ReadMode;
  bagName?: string;
  bundleDigest?: string;
  caseId?: string;
  sealer?: { name?: string; keyid: string; fingerprint: string; trusted: boolean; /** why it is trusted */ trustedAs?: TrustedAs };
  algorithms?: string[];
  pieceSize?: number;
  files?: number;
  bytes?: number;
  checks: Check[];
  /** The id of the check whose failure is the verdict's error. */
  failed?: CheckId;
  /** The sealer's key (custody/sealer.pem), once it is known to be a strong key. */
  sealerKey?: Uint8Array;
  /** What a ledger at hand knows of this bundle (set by the caller that has one). */
  ledger?: { state: 'unknown' | 'same' | 'behind' | 'stale' | 'fork'; detail: string };
  chain?: ChainVerdict;
  manifest?: CustodyManifest;
  /** What was read (for extract and receive); absent when the stream could not be read to the end. */
  read?: ReadBundle;
  error?: CustodyError;
}

/** Why the sealer is trusted: its key in the trust store or a --trust file, its fingerprint given as read out, or one of our own keys. */
export type TrustedAs = 'trust store or --trust' | 'fingerprint given with --trust' | 'own key';

/** How `key` is trusted under these options, or undefined. */
export function trustOf(key: Uint8Array, o: Pick<VerifyOptions, 'trusted' | 'trustedFingerprints' | 'ownKeys'>): TrustedAs | undefined {
  if (o.trusted.some((t) => sameKey(t, key))) return 'trust store or --trust';
  if (o.trustedFingerprints?.includes(fingerprint(key))) return 'fingerprint given with --trust';
  if (o.ownKeys?.some((t) => sameKey(t, key))) return 'own key';
  return undefined;
}

/** What the steps share: what was read, and what earlier steps established. */
interface VerifyState {
  readonly v: BundleVerdict;
  readonly r: ReadBundle;
  readonly o: VerifyOptions;
  readonly tagmanifest: Uint8Array;
  /** The key in custody/sealer.pem (and .minisign.pub), once it is known to be a strong key. */
  sealerKey?: Uint8Array;
  /** The tag manifest lists exactly the tag files and the sealer's Ed25519 signature over it holds. */
  tagsListed: boolean;
  signed: boolean;
}

function fail(code: ErrorCode, message: string, details: { member?: string; item?: string; range?: [number, number] } = {}): never {
  throw new CustodyError(code, message, details);
}

/** Runs one check: its detail on success, its error (the first one becomes the verdict's) on failure. */
function record(v: BundleVerdict, id: CheckId, check: string, fn: () => string): boolean {
  try {
    v.checks.push({ id, check, ok: true, detail: fn() });
    return true;
  } catch (e) {
    const err = e instanceof CustodyError ? e : new CustodyError('INTERNAL', `internal error in ${check}: ${String(e)}`, { cause: e });
    v.checks.push({ id, check, ok: false, detail: err.message });
    if (v.error === undefined) {
      v.error = err;
      v.failed = id;
    }
    return false;
  }
}

/** A check that parses a tag file: only once the tag files are those the sealer signed. */
function recordTag(s: VerifyState, id: CheckId, check: string, fn: () => string): boolean {
  if (s.tagsListed && s.signed) return record(s.v, id, check, fn);
  s.v.checks.push({ id, check, ok: false, detail: 'not checked: the tag files are not those the sealer signed (see above)' });
  return false;
}

const tag = (s: VerifyState, name: string): Uint8Array => s.r.tags.get(name)!;

export async function verifyBundle(source: AsyncIterable<Uint8Array>, o: VerifyOptions): Promise<BundleVerdict> {
  const v: BundleVerdict = { ok: false, checks: [] };
  const r = await checkStructure(source, o, v);
  if (!r) return v;
  const s: VerifyState = { v, r, o, tagmanifest: r.tags.get(L.TAGMANIFEST)!, tagsListed: false, signed: false };
  checkBagInfo(s);
  checkTagManifest(s);
  checkSealerKey(s);
  checkSignatures(s);
  checkSealerTrust(s);
  checkPayloadOxum(s);
  checkFlatManifests(s);
  checkPayloadPieces(s);
  checkCustodyManifest(s);
  checkPiecesList(s);
  checkCustodyChain(s);
  v.ok = v.error === undefined;
  return v;
}

/** Who hashed: lanes of which the calling thread may be one, the rest worker threads. */
function lanesText(lanes: number, mainLane: boolean): string {
  if (!mainLane) return `${lanes} worker thread(s)`;
  return lanes === 1 ? '1 lane (this thread, no worker thread)' : `${lanes} lanes (this thread and ${lanes - 1} worker thread(s))`;
}

function modeDetail(r: ReadBundle, asked: ReadMode, lanes: number, mainLane: boolean): string {
  const flat = r.info.algorithms.join(', ');
  if (r.mode === 'pieces') {
    return `pieces (every byte against the signed piece hashes, on ${lanesText(lanes, mainLane)}; flat ${flat} not recomputed — use --full)`;
  }
  const why = asked === 'pieces' ? ' (the piece size is 0: no piece hashes to check against)' : '';
  return `full (every flat hash ${flat}${r.info.pieceSize > 0 ? ' and every piece SHA-256' : ''} recomputed from the data)${why}`;
}

/** bundle.structure: the one streaming pass (strict tar, the members of DESIGN §3 in order, payload hashed). */
async function checkStructure(source: AsyncIterable<Uint8Array>, o: VerifyOptions, v: BundleVerdict): Promise<ReadBundle | undefined> {
  const check = 'bundle structure (strict tar, member order)';
  let r: ReadBundle;
  try {
    r = await readBundle(source, o);
  } catch (e) {
    // Only "the evidence does not verify" becomes a verdict; a missing file or an I/O error is not one.
    if (!(e instanceof CustodyError) || !(VERIFICATION_CODES as readonly string[]).includes(e.code)) throw e;
    v.checks.push({ id: 'bundle.structure', check, ok: false, detail: e.message });
    v.error = e;
    v.failed = 'bundle.structure';
    return undefined;
  }
  v.read = r;
  v.mode = r.mode;
  v.bagName = r.bagName;
  v.caseId = r.info.caseId;
  v.algorithms = r.info.algorithms;
  v.pieceSize = r.info.pieceSize;
  v.files = r.table.count;
  v.bytes = r.table.totalBytes;
  v.bundleDigest = sha256Hex(r.tags.get(L.TAGMANIFEST)!);
  v.checks.push({ id: 'bundle.structure', check, ok: true, detail: `${r.table.count} payload file(s), ${r.chain.length} record(s)` });
  const lanes = r.mode === 'pieces' && o.seekable && !o.sink ? o.seekable.hasher : undefined;
  v.checks.push({ id: 'verify.mode', check: 'mode', ok: true, detail: modeDetail(r, o.mode ?? 'full', lanes?.workerCount ?? o.engine.workerCount, lanes?.mainLane ?? false) });
  return r;
}

/** bag.info: bag-info.txt parsed already (it told the reader what to compute); here its case id. */
function checkBagInfo(s: VerifyState): void {
  const { info } = s.r;
  record(s.v, 'bag.info', 'bag-info.txt', () => {
    assertCaseId(info.caseId, 'evidence');
    return `case ${info.caseId}, ${info.algorithms.join(',')}, piece size ${info.pieceSize}`;
  });
}

/** tags.manifest: tagmanifest-sha256.txt lists exactly the tag files, and each matches. */
function checkTagManifest(s: VerifyState): void {
  s.tagsListed = record(s.v, 'tags.manifest', 'tag manifest', () => {
    const entries = parseManifest(s.tagmanifest, 'sha256', L.TAGMANIFEST);
    const want = L.tagFilesInOrder(s.r.info.algorithms);
    const listed = new Map(entries.map((e) => [e.path, e.digest]));
    for (const name of want) {
      const d = listed.get(name);
      if (d === undefined) fail('MALFORMED_BUNDLE', `${L.TAGMANIFEST} does not list ${name}`, { member: L.TAGMANIFEST });
      if (d !== s.r.tagDigests.get(name)) fail('HASH_MISMATCH', `tag file ${name} does not match its SHA-256 in ${L.TAGMANIFEST}`, { member: name });
    }
    for (const name of listed.keys()) {
      if (!want.includes(name)) fail('MALFORMED_BUNDLE', `${L.TAGMANIFEST} lists ${name}, which is not a tag file of this bundle`, { member: L.TAGMANIFEST });
    }
    return `${want.length} tag files match`;
  });
}

/** seal.key: custody/sealer.pem and custody/sealer.minisign.pub hold the same strong key. */
function checkSealerKey(s: VerifyState): void {
  record(s.v, 'seal.key', 'sealer key', () => {
    let pem: Uint8Array;
    let mini: Uint8Array;
    try {
      pem = spkiPemToPublicKey(decodeUtf8(tag(s, L.SEALER_PEM), L.SEALER_PEM));
    } catch (e) {
      return fail('MALFORMED_BUNDLE', `${L.SEALER_PEM}: ${(e as Error).message}`, { member: L.SEALER_PEM });
    }
    assertStrongPublicKey(pem, 'evidence', `sealer key in ${L.SEALER_PEM}`);
    try {
      mini = minisignPublicKeyFromText(decodeUtf8(tag(s, L.SEALER_MINISIGN_PUB), L.SEALER_MINISIGN_PUB));
    } catch (e) {
      return fail('MALFORMED_BUNDLE', `${L.SEALER_MINISIGN_PUB}: ${(e as Error).message}`, { member: L.SEALER_MINISIGN_PUB });
    }
    if (!bytesEqual(pem, mini)) fail('MALFORMED_BUNDLE', `${L.SEALER_MINISIGN_PUB} is not the key in ${L.SEALER_PEM}`, { member: L.SEALER_MINISIGN_PUB });
    s.sealerKey = pem;
    s.v.sealerKey = pem;
    s.v.sealer = { keyid: keyId(pem), fingerprint: fingerprint(pem), trusted: false };
    return `key id ${keyId(pem)}, fingerprint ${fingerprint(pem)}`;
  });
}

/** seal.signature, seal.minisign: the raw Ed25519 and the minisign signature over the tag manifest. */
function checkSignatures(s: VerifyState): void {
  const key = s.sealerKey;
  if (!key) return;
  s.signed = record(s.v, 'seal.signature', 'Ed25519 signature over the tag manifest', () => {
    const sig = tag(s, L.SEAL_SIG);
    if (sig.length !== 64) fail('SIGNATURE_ERROR', `${L.SEAL_SIG} is ${sig.length} bytes, not a 64-byte Ed25519 signature`, { member: L.SEAL_SIG });
    if (!verifyEd25519(sig, s.tagmanifest, key)) fail('SIGNATURE_ERROR', `${L.SEAL_SIG} does not verify with the sealer's key`, { member: L.SEAL_SIG });
    return 'valid';
  });
  record(s.v, 'seal.minisign', 'minisign signature over the tag manifest', () => {
    const text = decodeUtf8(tag(s, L.SEAL_MINISIG), L.SEAL_MINISIG);
    if (!minisignVerify(text, s.tagmanifest, key)) fail('SIGNATURE_ERROR', `${L.SEAL_MINISIG} does not verify with the sealer's key`, { member: L.SEAL_MINISIG });
    const c = L.minisigComments(s.r.bagName, s.v.bundleDigest!, s.r.info.caseId);
    const lines = text.split('\n');
    if (lines[2] !== `trusted comment: ${c.trusted}`) {
      fail('SIGNATURE_ERROR', `${L.SEAL_MINISIG}: its trusted comment does not name this bundle, digest and case`, { member: L.SEAL_MINISIG });
    }
    // The untrusted comment and the line ends are not signed: compare them exactly.
    if (lines[0] !== `untrusted comment: ${c.untrusted}` || lines.length !== 5 || lines[4] !== '' || text.includes('\r')) {
      fail('MALFORMED_BUNDLE', `${L.SEAL_MINISIG} is not in the form custody writes (comment or line ends changed)`, { member: L.SEAL_MINISIG });
    }
    return 'valid';
  });
}

/** seal.trust: the sealer's key is in the trust store or given with --trust (unless --allow-untrusted). */
function checkSealerTrust(s: VerifyState): void {
  const key = s.sealerKey;
  if (!key) return;
  record(s.v, 'seal.trust', 'sealer trusted', () => {
    const how = trustOf(key, s.o);
    s.v.sealer!.trusted = how !== undefined;
    if (how !== undefined) {
      s.v.sealer!.trustedAs = how;
      return how === 'own key' ? 'trusted: own key' : how === 'fingerprint given with --trust' ? 'its fingerprint was given with --trust' : 'in the trust store or given with --trust';
    }
    if (s.o.allowUntrusted) return 'NOT trusted (accepted with --allow-untrusted)';
    throw new CustodyError('UNTRUSTED_KEY', `the sealer's key (key id ${keyId(key)}, fingerprint ${fingerprint(key)}) is not trusted`, {
      member: L.SEALER_PEM,
      hint: 'confirm the fingerprint with the sealer out of band (letter of request, phone), then pass --trust <the 64-hex fingerprint> or custody trust add --from <bundle> --fingerprint <it>',
    });
  });
}

/** bag.oxum: the payload read is what Payload-Oxum declares. */
function checkPayloadOxum(s: VerifyState): void {
  const { r, v } = s;
  record(v, 'bag.oxum', 'Payload-Oxum', () => {
    const bytes = v.bytes!;
    if (bytes !== r.info.payloadBytes || r.table.count !== r.info.payloadFiles) {
      fail('SIZE_MISMATCH', `Payload-Oxum says ${r.info.payloadBytes} bytes in ${r.info.payloadFiles} files; the bundle holds ${bytes} bytes in ${r.table.count} files`, { member: L.BAG_INFO_TXT });
    }
    return `${bytes}.${r.table.count}`;
  });
}

/** A payload file that does not match: names the member, the item and the first differing piece the signed piece list locates. */
function payloadError(s: VerifyState, i: number, what: string): never {
  const t = s.r.table;
  const path = t.name(i);
  const item = t.item(i);
  const range = s.r.streamed.pieces.firstBadPiece(i);
  const where = range ? `; first differing piece: bytes ${range[0]}-${range[1]}` : '';
  return fail('HASH_MISMATCH', `${path} (item ${item}): ${what}${where}`, { member: path, item, ...(range ? { range } : {}) });
}

/**
 * manifest.<alg>: each flat manifest lists exactly the payload files; full
 * mode compares every digest with the one computed from the data, pieces
 * mode keeps them for the consistency check of custody/manifest.json.
 */
function checkFlatManifests(s: VerifyState): void {
  const { r } = s;
  const t = r.table;
  for (const algo of r.info.algorithms) {
    const name = L.manifestName(algo);
    recordTag(s, `manifest.${algo}`, name, () => {
      const m = r.streamed.manifests.get(algo)!;
      if (m.parseError) throw m.parseError;
      if (m.firstBad) {
        const i = m.firstBad.index;
        if (m.firstBad.kind === 'unlisted') fail('MALFORMED_BUNDLE', `payload member ${t.name(i)} is not listed in ${name}`, { member: t.name(i), item: t.item(i) });
        payloadError(s, i, `${algo} differs from ${name}`);
      }
      if (m.firstExtra !== undefined) fail('MALFORMED_BUNDLE', `${name} lists ${m.firstExtra}, which is not in the bundle`, { member: m.firstExtra });
      return r.mode === 'full' ? `${m.lineCount} file(s) match` : `${m.lineCount} file(s) listed exactly (${algo} not recomputed in pieces mode)`;
    });
  }
}

/** payload.pieces (pieces mode): every payload byte against the signed piece hashes. */
function checkPayloadPieces(s: VerifyState): void {
  const { r } = s;
  if (r.mode !== 'pieces') return;
  recordTag(s, 'payload.pieces', `payload against ${L.PIECES_TXT}`, () => {
    const pc = r.streamed.pieces;
    if (pc.parseError) throw pc.parseError;
    const t = r.table;
    let n = 0;
    for (let i = 0; i < t.count; i++) {
      const computed = t.pieceCount(i);
      if (!pc.listed(i) && computed > 0) fail('MALFORMED_BUNDLE', `payload member ${t.name(i)} is not listed in ${L.PIECES_TXT}`, { member: t.name(i), item: t.item(i) });
      if (!pc.matches(i)) payloadError(s, i, `piece SHA-256 differs from ${L.PIECES_TXT}`);
      n += computed;
    }
    return `${n} piece(s) of ${t.count} file(s) match (every payload byte)`;
  });
}

/** custody.manifest: custody/manifest.json agrees with bag-info, the sealer key and what was computed. */
function checkCustodyManifest(s: VerifyState): void {
  const { r, v } = s;
  recordTag(s, 'custody.manifest', L.CUSTODY_MANIFEST_JSON, () => {
    const c = r.streamed.custody;
    if (c.parseError) throw c.parseError;
    const m: CustodyManifest = { ...c.head!, files: c.files };
    v.manifest = m;
    const bad = (msg: string, extra: { member?: string; item?: string } = {}): never =>
      fail('MALFORMED_BUNDLE', `${L.CUSTODY_MANIFEST_JSON}: ${msg}`, { member: L.CUSTODY_MANIFEST_JSON, ...extra });
    if (m.bundleName !== r.bagName) bad(`bundleName ${m.bundleName} is not the bag folder ${r.bagName}`);
    if (m.case.id !== r.info.caseId) bad(`case ${m.case.id} is not External-Identifier ${r.info.caseId} of bag-info.txt`);
    if (m.algorithms.join(',') !== r.info.algorithms.join(',')) bad('algorithms differ from Custody-Algorithms of bag-info.txt');
    if (m.pieceSize !== r.info.pieceSize) bad('pieceSize differs from Custody-Piece-Size of bag-info.txt');
    const key = s.sealerKey;
    if (key && (m.sealer.publicKey !== toBase64(key) || m.sealer.fingerprint !== fingerprint(key) || m.sealer.keyid !== keyId(key))) {
      bad('the sealer is not the key in custody/sealer.pem');
    }
    if (v.sealer) v.sealer.name = m.sealer.name;
    if (c.countError !== undefined) bad(c.countError);
    if (c.first) {
      if ('error' in c.first) throw c.first.error;
      payloadError(s, c.first.payload, c.first.what);
    }
    const files = r.table.count;
    return r.mode === 'full'
      ? `${m.items.length} item(s), ${files} file(s) agree`
      : `${m.items.length} item(s), ${files} file(s) agree (hashes with the manifests, piece counts and Merkle roots with the data)`;
  });
}

/** pieces.list: custody/pieces-sha256.txt is byte for byte the list generated from the sizes read and the hashes computed. */
function checkPiecesList(s: VerifyState): void {
  const { r } = s;
  recordTag(s, 'pieces.list', L.PIECES_TXT, () => {
    const pc = r.streamed.pieces;
    if (pc.parseError) throw pc.parseError;
    const d = pc.firstDiff;
    if (d) {
      const where = d.line ? `: ${d.line.path} bytes ${d.line.range[0]}-${d.line.range[1]}` : '';
      fail('HASH_MISMATCH', `${L.PIECES_TXT} differs from the pieces computed at line ${d.lineNo}${where}`, {
        member: d.line?.path ?? L.PIECES_TXT,
        ...(d.line ? { range: d.line.range } : {}),
      });
    }
    return r.info.pieceSize === 0 ? 'pieces off' : `${pc.lineCount} piece(s) match`;
  });
}

/** chain: the custody records (DESIGN §4, the shared checkChain), then any receipts kept beside the bundle. */
function checkCustodyChain(s: VerifyState): void {
  const { r, v, o } = s;
  if (!s.sealerKey) return;
  const input = {
    bundleName: r.bagName,
    bundleDigest: v.bundleDigest!,
    envelopes: [...r.chain, ...(o.extraRecords?.(r.chain.length) ?? [])],
    sealerPublicKey: s.sealerKey,
    trusted: [...o.trusted, ...(o.ownKeys ?? [])],
    ...(o.trustedFingerprints ? { trustedFingerprints: o.trustedFingerprints } : {}),
    strictTrust: o.strictTrust === true,
    allowUntrusted: o.allowUntrusted === true,
    now: o.now ?? new Date(),
    baggingDate: r.info.baggingDate,
  };
  const chain = (o.checkedRecords && rejudgeChain(o.checkedRecords, input)) ?? checkChain(input);
  v.chain = chain;
  const ok = record(v, 'chain', 'custody chain', () => {
    if (chain.error) throw chain.error;
    const last = chain.records[chain.records.length - 1];
    const who = chain.pendingTransfer ? `in transit to ${chain.pendingTransfer.to.name}` : `held by ${chain.custodian?.name ?? '?'}`;
    return `${chain.records.length} record(s), last ${last?.action ?? '-'}; ${who}`;
  });
  // The verdict names the chain rule that broke, not only "chain".
  if (!ok && v.failed === 'chain' && chain.rule) v.failed = chain.rule;
}
