/**
 * Seal: writes a bundle v1 (DESIGN §3) into a TarWriter, reading every
 * evidence file exactly once — each chunk is hashed (all algorithms and the
 * piece SHA-256s, in the engine's workers) and written into the tar from the
 * same buffer. A second read could see different bytes if the source changed
 * underneath us, and would double the time on a 2 TB image.
 *
 * Then the tag files (manifests, custody/manifest.json, pieces, the sealer's
 * public key twice, VERIFY.txt), the tagmanifest over them, its raw and
 * minisign signatures, and the seal record naming the bundle digest.
 */
import type { Algo } from '../core/algorithms.js';
import { CustodyError } from '../core/errors.js';
import type { HashEngine } from '../core/engine.js';
import { hashPaths } from '../core/hash-source.js';
import { geometryOf } from '../core/ewf/geometry.js';
import { hashEwf } from '../core/ewf/hash-ewf.js';
import { toBase64, utf8 } from '../custody/encoding.js';
import type { Signer } from '../custody/identity.js';
import { minisignPublicKeyFile, minisignSign } from '../custody/minisign.js';
import { publicKeyToSpkiPem } from '../custody/pem.js';
import { makeRecord, partyFromIdentity, recordMemberName, type RecordPredicate } from '../custody/record.js';
import { BAGIT_TXT_TEXT, bagInfoText } from './bag-info.js';
import type { CollectedItem } from './collect-items.js';
import { custodyManifestBytes, type CustodyManifest, type EmptyDirectoryMark, type ManifestFile, type ManifestImage } from './custody-manifest.js';
import * as L from './layout.js';
import { manifestText } from './manifests.js';
import { piecesText, type FilePieces } from './pieces.js';
import type { TarWriter } from './tar-writer.js';
import { verifyText } from './verify-text.js';
import { sha256Hex } from '../core/digest.js';

export interface SealRequest {
  engine: HashEngine;
  signer: Signer;
  items: CollectedItem[];
  /** The bag root folder inside the tar, and the bundle name in every record. */
  bagName: string;
  /** The tar's file name (for VERIFY.txt). */
  bundleFile: string;
  caseInfo: { id: string; title?: string; authority?: string };
  algorithms: Algo[];
  pieceSize: number;
  toolVersion: string;
  location?: string;
  note?: string;
  now?: Date;
  /** Bytes of evidence read so far, over the whole bundle. */
  onProgress?: (bytesDone: number) => void;
}

export interface SealResult {
  bagName: string;
  bundleDigest: string;
  manifest: CustodyManifest;
  record: { member: string; payload: Uint8Array; envelope: Uint8Array; predicate: RecordPredicate };
  payloadBytes: number;
  endOfData: number;
}


export function payloadMemberPath(itemId: string, rel: string): string {
  return `data/${itemId}/${rel}`;
}

/** Empty folders marked as files are: a name Windows cannot hold, the original bytes of a name sealed escaped. */
function emptyDirectoryMarks(it: CollectedItem): { emptyDirectoryMarks?: EmptyDirectoryMark[] } {
  const marks: EmptyDirectoryMark[] = [];
  for (const d of it.emptyDirectories) {
    const mark: EmptyDirectoryMark = { path: d };
    const windows = L.windowsPathProblem(d);
    if (windows !== undefined) mark.windows = windows;
    const bytes = it.emptyDirectoryBytes?.get(d);
    if (bytes !== undefined) mark.nameBytes = Buffer.from(bytes).toString('hex');
    if (mark.windows !== undefined || mark.nameBytes !== undefined) marks.push(mark);
  }
  return marks.length === 0 ? {} : { emptyDirectoryMarks: marks };
}

async function mediaOf(r: SealRequest, item: CollectedItem, segments: string[]): Promise<ManifestImage> {
  const spec = { algos: r.algorithms, pieceSize: r.pieceSize };
  const pick = (digests: Partial<Record<Algo, string>>) => Object.fromEntries(r.algorithms.map((a) => [a, digests[a]!]));
  if (item.image!.format === 'split') {
    const d = await hashPaths(r.engine, item.files.map((f) => f.abs), spec);
    return { format: 'split', segments, media: { size: d.size, hashes: pick(d.digests), ...(d.pieces ? { pieces: { count: d.pieces.hashes.length, merkleRoot: d.pieces.merkleRoot } } : {}) } };
  }
  let d;
  try {
    d = await hashEwf(r.engine, String(item.files[0]!.abs), spec); // image segments are found by name: always string paths
  } catch (e) {
    // The image is damaged: say so, and how to keep its segments in custody anyway (a folder item holds files as files).
    if (e instanceof CustodyError && ['CHUNK_CORRUPT', 'SEGMENT_TRUNCATED', 'IMAGE_MALFORMED'].includes(e.code)) {
      throw new CustodyError(e.code, `cannot seal item ${item.id} as a disk image: ${e.message}`, { hint: 'to seal the damaged segment files as they are, put them in a folder and seal the folder' });
    }
    throw e;
  }
  const s = d.image;
  return {
    format: 'ewf',
    segments,
    media: { size: d.size, hashes: pick(d.digests), ...(d.pieces ? { pieces: { count: d.pieces.hashes.length, merkleRoot: d.pieces.merkleRoot } } : {}) },
    stored: s.stored,
    matches: s.matches,
    acquisition: { ...s.acquisition },
    geometry: geometryOf(s),
    readErrors: s.readErrors,
  };
}

export async function writeBundle(tar: TarWriter, r: SealRequest): Promise<SealResult> {
  const now = r.now ?? new Date();
  const root = `${r.bagName}/`;
  const id = r.signer.identity;
  if (!r.algorithms.includes('sha256')) throw new CustodyError('INTERNAL', 'seal needs sha256 among the algorithms');
  const files = r.items.flatMap((item) => item.files.map((f) => ({ item, f, path: payloadMemberPath(item.id, f.rel) })));
  const payloadBytes = files.reduce((n, x) => n + x.f.size, 0);

  const tagBytes = new Map<string, Uint8Array>();
  const addTag = async (name: string, bytes: Uint8Array) => {
    tagBytes.set(name, bytes);
    await tar.addFile(root + name, bytes);
  };

  await addTag(L.BAGIT_TXT, utf8(BAGIT_TXT_TEXT));
  await addTag(
    L.BAG_INFO_TXT,
    utf8(
      bagInfoText({
        ...(id.org === undefined ? {} : { sourceOrganization: id.org }),
        contactName: id.name,
        caseId: r.caseInfo.id,
        baggingDate: now.toISOString().slice(0, 10),
        payloadBytes,
        payloadFiles: files.length,
        softwareAgent: `custody ${r.toolVersion}`,
        algorithms: r.algorithms,
        pieceSize: r.pieceSize,
      }),
    ),
  );

  // The evidence: one read per file, hashed and written from the same chunks.
  const manifestFiles: ManifestFile[] = [];
  const pieces: FilePieces[] = [];
  let done = 0;
  for (const { item, f, path } of files) {
    const sink = await tar.beginFile(root + path, f.size);
    const base = done;
    const digest = await hashPaths(r.engine, [f.abs], { algos: r.algorithms, pieceSize: r.pieceSize }, {
      onChunk: (chunk) => sink.write(chunk),
      onProgress: (n) => r.onProgress?.(base + n),
    });
    await sink.end();
    done += f.size;
    const hashes: Record<string, string> = {};
    for (const a of r.algorithms) hashes[a] = digest.digests[a]!;
    const mf: ManifestFile = { path, item: item.id, size: f.size, mtime: f.mtime.toISOString(), hashes };
    if (digest.pieces) {
      mf.pieces = { count: digest.pieces.hashes.length, merkleRoot: digest.pieces.merkleRoot };
      pieces.push({ path, size: f.size, hashes: digest.pieces.hashes });
    }
    const windows = L.windowsPathProblem(f.rel);
    if (windows !== undefined) mf.windows = windows;
    if (f.relBytes !== undefined) mf.nameBytes = Buffer.from(f.relBytes).toString('hex');
    manifestFiles.push(mf);
  }

  // Disk images: also the media they hold. A second read of the segments (the engine hashes one stream at a
  // time); the container hashes above are what verify checks, the media hashes are what the examiner compares.
  const images = new Map<string, ManifestImage>();
  for (const item of r.items) {
    if (item.kind !== 'image' || !item.image) continue;
    images.set(item.id, await mediaOf(r, item, files.filter((x) => x.item === item).map((x) => x.path)));
  }

  for (const a of r.algorithms) {
    await addTag(L.manifestName(a), utf8(manifestText(manifestFiles.map((m) => ({ path: m.path, digest: m.hashes[a]! })))));
  }
  const sealer = {
    name: id.name,
    ...(id.org === undefined ? {} : { org: id.org }),
    ...(id.role === undefined ? {} : { role: id.role }),
    keyid: id.keyid,
    fingerprint: id.fingerprint,
    publicKey: toBase64(id.publicKey),
  };
  const manifest: CustodyManifest = {
    custodyBundleVersion: L.BUNDLE_VERSION,
    bundleName: r.bagName,
    case: r.caseInfo,
    sealedAt: now.toISOString(),
    tool: { name: 'custody', version: r.toolVersion },
    algorithms: r.algorithms,
    pieceSize: r.pieceSize,
    sealer,
    items: r.items.map((it) => ({
      id: it.id,
      kind: it.kind,
      ...(images.has(it.id) ? { image: images.get(it.id)! } : {}),
      source: it.source,
      ...(it.description === undefined ? {} : { description: it.description }),
      meta: it.meta,
      emptyDirectories: it.emptyDirectories,
      ...emptyDirectoryMarks(it),
    })),
    files: manifestFiles,
  };
  await addTag(L.CUSTODY_MANIFEST_JSON, custodyManifestBytes(manifest));
  await addTag(L.PIECES_TXT, utf8(piecesText(r.pieceSize, pieces)));
  await addTag(L.SEALER_PEM, utf8(publicKeyToSpkiPem(id.publicKey)));
  await addTag(L.SEALER_MINISIGN_PUB, utf8(minisignPublicKeyFile(id.publicKey, `custody sealer ${id.name} fingerprint ${id.fingerprint}`)));
  // The dd example is one shell line: a name with a line break cannot be its example.
  const first = [...pieces].sort((a, b) => L.compareNames(a.path, b.path)).find((p) => p.hashes.length > 0 && !/[\r\n]/.test(p.path));
  await addTag(
    L.VERIFY_TXT,
    utf8(
      verifyText({
        bundleFile: r.bundleFile,
        bagName: r.bagName,
        caseId: r.caseInfo.id,
        sealer,
        algorithms: r.algorithms,
        pieceSize: r.pieceSize,
        ...(first ? { firstPiece: { path: first.path, size: first.size, digest: first.hashes[0]! } } : {}),
        percentNames: manifestFiles.some((m) => m.path.includes('%')),
        lineBreakNames: manifestFiles.filter((m) => /[\r\n]/.test(m.path)).map((m) => m.path),
      }),
    ),
  );

  const tagmanifest = utf8(manifestText(L.tagFilesInOrder(r.algorithms).map((name) => ({ path: name, digest: sha256Hex(tagBytes.get(name)!) }))));
  const bundleDigest = sha256Hex(tagmanifest);
  await tar.addFile(root + L.TAGMANIFEST, tagmanifest);
  await tar.addFile(root + L.SEAL_SIG, r.signer.sign(tagmanifest));
  const comments = L.minisigComments(r.bagName, bundleDigest, r.caseInfo.id);
  await tar.addFile(root + L.SEAL_MINISIG, utf8(minisignSign(r.signer, tagmanifest, comments.trusted, comments.untrusted)));

  const predicate: RecordPredicate = { seq: 0, prev: null, action: 'seal', at: now.toISOString(), by: partyFromIdentity(id) };
  if (r.caseInfo.authority !== undefined) predicate.authority = r.caseInfo.authority;
  if (r.location !== undefined) predicate.location = r.location;
  if (r.note !== undefined) predicate.note = r.note;
  const rec = makeRecord(r.signer, { bundleName: r.bagName, bundleDigest, predicate });
  const member = recordMemberName(0, 'seal');
  await tar.addFile(root + member, rec.envelope);
  const { endOfData } = await tar.finish();
  return { bagName: r.bagName, bundleDigest, manifest, record: { member, ...rec, predicate }, payloadBytes, endOfData };
}
