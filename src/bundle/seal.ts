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
import fs from 'node:fs/promises';
import type { Algo } from '../core/algorithms.js';
import { CustodyError } from '../core/errors.js';
import type { HashEngine } from '../core/engine.js';
import { hashPaths } from '../core/hash-source.js';
import { geometryOf } from '../core/ewf/geometry.js';
import { BATCH_FILE_MAX, BatchHasher } from '../core/batch-hasher.js';
import { defaultJobs } from '../core/piece-pool.js';
import type { HashDigest } from '../core/hasher.js';
import { hashEwf } from '../core/ewf/hash-ewf.js';
import { toBase64, utf8 } from '../custody/encoding.js';
import type { Signer } from '../custody/identity.js';
import { minisignPublicKeyFile, minisignSign } from '../custody/minisign.js';
import { publicKeyToSpkiPem } from '../custody/pem.js';
import { makeRecord, partyFromIdentity, recordMemberName, type RecordPredicate } from '../custody/record.js';
import { BAGIT_TXT_TEXT, bagInfoText } from './bag-info.js';
import type { CollectedItem } from './collect-items.js';
import { type CustodyManifest, type EmptyDirectoryMark, type ManifestFile, type ManifestImage } from './custody-manifest.js';
import * as L from './layout.js';
import { encodeManifestPath, manifestText } from './manifests.js';
import { pieceRange } from './pieces.js';
import { SealSpill, type SpillWriter } from './seal-spill.js';
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
  /** Worker threads for many small files (default: one per core, at most 16). */
  jobs?: number;
  /** Bytes of evidence read so far, over the whole bundle. */
  onProgress?: (bytesDone: number) => void;
  /**
   * Where per-file results go while sealing (see seal-spill.ts). Given: the
   * caller reads `files()` after and closes it. Default: a spill of its own,
   * removed before writeBundle returns.
   */
  spill?: SealSpill;
}

export interface SealResult {
  bagName: string;
  bundleDigest: string;
  /** custody/manifest.json; `files` only up to RESULT_FILES_MAX files (all of them: `fileCount`, the spill's files()). */
  manifest: CustodyManifest;
  fileCount: number;
  /** Files per item id. */
  itemFiles: Record<string, number>;
  /** Payload paths a Windows file system cannot hold (marked in custody/manifest.json). */
  unportable: string[];
  record: { member: string; payload: Uint8Array; envelope: Uint8Array; predicate: RecordPredicate };
  payloadBytes: number;
  endOfData: number;
}


/** Up to this many files, SealResult.manifest lists them all (the CLI prints them with --json). */
export const RESULT_FILES_MAX = 100_000;

/** From this many small files on, a batch hasher pays for its threads (see core/batch-hasher.ts). */
const BATCH_FROM_FILES = 8;

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
    const d = await hashPaths(r.engine, [...item.files].map((f) => f.abs), spec);
    return { format: 'split', segments, media: { size: d.size, hashes: pick(d.digests), ...(d.pieces ? { pieces: { count: d.pieces.hashes.length, merkleRoot: d.pieces.merkleRoot } } : {}) } };
  }
  let d;
  try {
    d = await hashEwf(r.engine, String(item.files.get(0).abs), spec); // image segments are found by name: always string paths
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
  const spill = r.spill ?? new SealSpill(r.algorithms);
  try {
    return await writeWithSpill(tar, r, spill);
  } finally {
    if (r.spill === undefined) spill.close();
  }
}

async function writeWithSpill(tar: TarWriter, r: SealRequest, spill: SealSpill): Promise<SealResult> {
  const now = r.now ?? new Date();
  const root = `${r.bagName}/`;
  const id = r.signer.identity;
  if (!r.algorithms.includes('sha256')) throw new CustodyError('INTERNAL', 'seal needs sha256 among the algorithms');
  const fileCount = r.items.reduce((n, it) => n + it.files.length, 0);
  const payloadBytes = r.items.reduce((n, it) => n + it.files.totalBytes, 0);

  const tagDigests = new Map<string, string>();
  const addTag = async (name: string, bytes: Uint8Array) => {
    tagDigests.set(name, sha256Hex(bytes));
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
        payloadFiles: fileCount,
        softwareAgent: `custody ${r.toolVersion}`,
        algorithms: r.algorithms,
        pieceSize: r.pieceSize,
      }),
    ),
  );

  // The evidence: one read per file, hashed and written from the same bytes. Small files go to
  // the batch hasher (whole files, many per worker message), large ones stream through the engine.
  const spec = { algos: r.algorithms, pieceSize: r.pieceSize };
  let small = 0;
  for (const item of r.items) for (let i = 0; i < item.files.length && small < BATCH_FROM_FILES; i++) if (item.files.size(i) <= BATCH_FILE_MAX) small++;
  const batch = small >= BATCH_FROM_FILES ? new BatchHasher(spec, { workers: r.jobs ?? defaultJobs() }) : undefined;
  const kept: ManifestFile[] = [];
  const unportable: string[] = [];
  // A file's entry is made when its digest is in, not while it waits in the batch window: the entries of the
  // ~1,000 files in flight outlived young-generation collections and were promoted with them (a quarter of
  // what each collection promoted, 200,000 small files).
  const record = (item: CollectedItem, i: number, digest: HashDigest) => {
    const rel = item.files.rel(i);
    const path = payloadMemberPath(item.id, rel);
    const hashes: Record<string, string> = {};
    for (const a of r.algorithms) hashes[a] = digest.digests[a]!;
    // Key order as custody/manifest.json has always had it.
    const out: ManifestFile = { path, item: item.id, size: item.files.size(i), mtime: item.files.mtime(i).toISOString(), hashes };
    if (digest.pieces) out.pieces = { count: digest.pieces.hashes.length, merkleRoot: digest.pieces.merkleRoot };
    const windows = L.windowsPathProblem(rel);
    if (windows !== undefined) {
      out.windows = windows;
      unportable.push(path);
    }
    const relBytes = item.files.relBytes(i);
    if (relBytes !== undefined) out.nameBytes = Buffer.from(relBytes).toString('hex');
    spill.add(out, digest.pieces?.hashes);
    if (fileCount <= RESULT_FILES_MAX) kept.push(out);
  };
  const waiting: { item: CollectedItem; i: number; digest: Promise<HashDigest> }[] = [];
  const settle = async (keep: number) => {
    // Within the window the oldest result is already in a sent slot: flushing here would send the
    // slot being filled with one file in it, a worker round trip per file.
    if (waiting.length > keep && keep === 0) batch?.flush();
    while (waiting.length > keep) {
      const w = waiting.shift()!;
      record(w.item, w.i, await w.digest);
    }
  };
  let done = 0;
  try {
    for (const item of r.items) {
      for (let i = 0; i < item.files.length; i++) {
        const f = item.files.get(i);
        const member = root + payloadMemberPath(item.id, f.rel);
        if (batch && f.size <= batch.maxFileSize) {
          const { digest } = await batch.add(f.abs, f.size, async (bytes) => {
            const sink = await tar.beginFile(member, f.size);
            await sink.write(bytes);
            await sink.end();
          });
          waiting.push({ item, i, digest });
          done += f.size;
          r.onProgress?.(done);
          await settle(batch.window);
          continue;
        }
        await settle(0);
        const sink = await tar.beginFile(member, f.size);
        const base = done;
        const digest = await hashPaths(r.engine, [f.abs], spec, {
          onChunk: (chunk) => sink.write(chunk),
          onProgress: (n) => r.onProgress?.(base + n),
        });
        await sink.end();
        done += f.size;
        record(item, i, digest);
      }
    }
    await settle(0);
  } finally {
    await batch?.close();
  }
  spill.endFiles();

  // Disk images: also the media they hold. A second read of the segments (the engine hashes one stream at a
  // time); the container hashes above are what verify checks, the media hashes are what the examiner compares.
  const images = new Map<string, ManifestImage>();
  for (const item of r.items) {
    if (item.kind !== 'image' || !item.image) continue;
    images.set(item.id, await mediaOf(r, item, [...item.files].map((f) => payloadMemberPath(item.id, f.rel))));
  }

  // The manifests and the piece list, sorted by path bytes, streamed from the spill into temporary tag files.
  const manifests = r.algorithms.map((a) => ({ algo: a, out: spill.tagWriter(L.manifestName(a)) }));
  const piecesOut = spill.tagWriter(L.PIECES_TXT);
  let first: { path: string; size: number; digest: string } | undefined;
  let percentNames = false;
  const lineBreaks: { at: number; path: string }[] = [];
  for (const { item, start } of itemsInPathOrder(r.items)) {
    const order = item.files.sorted ?? (item.kind === 'directory' ? undefined : objectOrder(item));
    for (let k = 0; k < item.files.length; k++) {
      const i = order === undefined ? k : order[k]!;
      const path = payloadMemberPath(item.id, item.files.rel(i));
      const encoded = encodeManifestPath(path);
      const rec = spill.record(start + i);
      for (const m of manifests) m.out.write(`${rec.digests[m.algo]!}  ${encoded}\n`);
      if (r.pieceSize > 0 && rec.pieceCount > 0) {
        const size = item.files.size(i);
        const hashes = spill.pieceHashes(rec);
        hashes.forEach((h, p) => {
          const [a, b] = pieceRange(r.pieceSize, size, p);
          piecesOut.write(`${h}  ${a}-${b}  ${encoded}\n`);
        });
        if (!first && !/[\r\n]/.test(path)) first = { path, size, digest: hashes[0]! };
      }
      if (path.includes('%')) percentNames = true;
      if (/[\r\n]/.test(path)) lineBreaks.push({ at: start + i, path });
    }
  }
  const tagFiles = new Map<string, SpillWriter>();
  for (const m of manifests) tagFiles.set(L.manifestName(m.algo), m.out);
  for (const [name, w] of tagFiles) await copyTag(tar, root, name, w, tagDigests);

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
    files: [],
  };
  // custody/manifest.json as custodyManifestBytes writes it, with the `files` entries copied from the spill.
  const json = spill.tagWriter(L.CUSTODY_MANIFEST_JSON);
  const head = JSON.stringify(manifest, null, 2);
  const emptyFiles = '[]\n}';
  if (!head.endsWith(emptyFiles)) throw new CustodyError('INTERNAL', 'custody/manifest.json: files is not the last field');
  if (spill.count === 0) json.write(`${head}\n`);
  else {
    json.write(`${head.slice(0, -emptyFiles.length)}[\n`);
    spill.copyEntries(json);
    json.write('\n  ]\n}\n');
  }
  await copyTag(tar, root, L.CUSTODY_MANIFEST_JSON, json, tagDigests);
  await copyTag(tar, root, L.PIECES_TXT, piecesOut, tagDigests);
  manifest.files = kept;
  await addTag(L.SEALER_PEM, utf8(publicKeyToSpkiPem(id.publicKey)));
  await addTag(L.SEALER_MINISIGN_PUB, utf8(minisignPublicKeyFile(id.publicKey, `custody sealer ${id.name} fingerprint ${id.fingerprint}`)));
  // The dd example is one shell line: a name with a line break cannot be its example.
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
        ...(first ? { firstPiece: first } : {}),
        percentNames,
        lineBreakNames: lineBreaks.sort((a, b) => a.at - b.at).map((x) => x.path),
      }),
    ),
  );

  const tagmanifest = utf8(manifestText(L.tagFilesInOrder(r.algorithms).map((name) => ({ path: name, digest: tagDigests.get(name)! }))));
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
  return { bagName: r.bagName, bundleDigest, manifest, fileCount, itemFiles: Object.fromEntries(r.items.map((it) => [it.id, it.files.length])), unportable, record: { member, ...rec, predicate }, payloadBytes, endOfData };
}

/** Items in the order of their payload paths (`data/<id>/…`), each with the number of its first file. */
function itemsInPathOrder(items: CollectedItem[]): { item: CollectedItem; start: number }[] {
  let start = 0;
  const out = items.map((item) => {
    const x = { item, start };
    start += item.files.length;
    return x;
  });
  return out.sort((a, b) => L.compareNames(`${a.item.id}/`, `${b.item.id}/`));
}

/** Manifest order of an item held as objects (a file, image segments): few files, sorted here. */
function objectOrder(item: CollectedItem): number[] {
  return Array.from({ length: item.files.length }, (_, i) => i).sort((a, b) => L.compareNames(item.files.rel(a), item.files.rel(b)));
}

/** Copies a tag file written in the spill into the tar, and notes its SHA-256 for the tagmanifest. */
async function copyTag(tar: TarWriter, root: string, name: string, w: SpillWriter, digests: Map<string, string>): Promise<void> {
  const { size, sha256 } = w.close();
  digests.set(name, sha256);
  const sink = await tar.beginFile(root + name, size);
  const fh = await fs.open(w.file, 'r');
  try {
    const buf = new Uint8Array(Math.min(size, 1 << 20) || 1);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      await sink.write(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  await sink.end();
  await fs.rm(w.file, { force: true });
}
