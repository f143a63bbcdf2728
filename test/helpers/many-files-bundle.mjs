/**
 * Writes a sealed bundle of many small files directly with the project's tar
 * writer and a fixed signing key (the built code in dist/, so the bench can
 * use it too): the same members, tag files and signatures seal writes, but
 * the file contents are generated and hashed in memory, so a bundle of
 * 1,000,000 files takes a minute, not an hour of sealing. custody/manifest.json
 * is written element by element (a million files make it larger than a
 * JavaScript string may be).
 *
 * Usage: node test/helpers/many-files-bundle.mjs <out.tar> <files> [maxSize] [minSize]
 * The signer is the fixed test key of test/helpers/hostile-bundle.ts (seed 7…7).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = (p) => import(pathToFileURL(path.join(ROOT, 'dist', p)).href);

const { TarWriter } = await dist('bundle/tar-writer.js');
const { bagInfoText, BAGIT_TXT_TEXT } = await dist('bundle/bag-info.js');
const L = await dist('bundle/layout.js');
const { manifestText, encodeManifestPath } = await dist('bundle/manifests.js');
const { verifyText } = await dist('bundle/verify-text.js');
const { signerFromSeed } = await dist('custody/identity.js');
const { toBase64 } = await dist('custody/encoding.js');
const { minisignPublicKeyFile, minisignSign } = await dist('custody/minisign.js');
const { publicKeyToSpkiPem } = await dist('custody/pem.js');
const { makeRecord, partyFromIdentity, recordMemberName } = await dist('custody/record.js');

export const SEED_BYTE = 7;

/** The content of file i: deterministic, between minSize and maxSize bytes. */
function content(i, minSize, maxSize) {
  const span = maxSize - minSize + 1;
  const size = minSize + ((i * 2654435761) % span);
  const out = Buffer.alloc(size);
  const seed = Buffer.from(`file ${i} `);
  for (let at = 0; at < size; at += seed.length) seed.copy(out, at, 0, Math.min(seed.length, size - at));
  return out;
}

/** data/<item>/<3-6 levels>/f<i>.bin, in byte order of i (zero-padded), as seal orders the files of an item. */
function nameOf(i, item) {
  const p = String(i).padStart(7, '0');
  const depth = 3 + (Math.floor(i / 1000) % 4);
  const dirs = [`a${p.slice(0, 2)}`, `b${p.slice(2, 4)}`, `c${p.slice(4, 5)}`, 'd', 'e', 'f'].slice(0, depth);
  return `data/${item}/${dirs.join('/')}/f${p}.bin`;
}

/**
 * Writes the bundle; returns { file, files, bytes, bundleDigest }.
 * o: { out, files, minSize = 1, maxSize = 64, pieceSize = 64 MiB, algorithms = md5,sha1,sha256, item = 'export',
 *      hostile?: a signed bundle that breaks a reading bound:
 *        'entry-too-big' (files[0] of custody/manifest.json over TAG_LIMITS.manifestFileEntryBytes),
 *        'line-too-long' (file 0's name makes manifest lines over TAG_LIMITS.tagLineBytes),
 *        'extra-entries' (one files entry more than there are payload members) }
 */
export async function writeManyFilesBundle(o) {
  const algorithms = o.algorithms ?? ['md5', 'sha1', 'sha256'];
  const pieceSize = o.pieceSize ?? 64 << 20;
  const minSize = o.minSize ?? 1;
  const maxSize = o.maxSize ?? 64;
  const item = o.item ?? 'export';
  const n = o.files;
  const signer = signerFromSeed(new Uint8Array(32).fill(SEED_BYTE), { name: 'Ann Examiner', org: 'Police Lab', role: 'examiner' });
  const id = signer.identity;
  const bagName = L.bagNameFromOut(path.basename(o.out));
  const root = `${bagName}/`;
  const now = new Date('2026-11-27T14:03:00.000Z');
  // Names in item order must be sorted: the generator pads the numbers, so the order of i is the byte order.
  const names = Array.from({ length: n }, (_, i) => nameOf(i, item));
  // '%' is written '%25' in the manifests: 14 folders of 200 '%' make a 2.8 KB name and an 8.4 KB line.
  if (o.hostile === 'line-too-long') names[0] = `data/${item}/${`${'%'.repeat(200)}/`.repeat(14)}f.bin`;
  const sizes = new Float64Array(n);
  let payloadBytes = 0;
  for (let i = 0; i < n; i++) {
    sizes[i] = content(i, minSize, maxSize).length;
    payloadBytes += sizes[i];
  }
  const fd = fs.openSync(o.out, 'w');
  const tar = new TarWriter(fd);
  const tagDigests = new Map();
  const addTag = async (name, text) => {
    const bytes = Buffer.from(text);
    tagDigests.set(name, crypto.createHash('sha256').update(bytes).digest('hex'));
    await tar.addFile(root + name, bytes);
  };
  /** A big tag file from a generator of strings, written in blocks (its size computed first). */
  const streamTag = async (name, parts) => {
    let size = 0;
    for (const s of parts()) size += Buffer.byteLength(s);
    const h = crypto.createHash('sha256');
    const sink = await tar.beginFile(root + name, size);
    let buf = [];
    let len = 0;
    for (const s of parts()) {
      buf.push(s);
      len += s.length;
      if (len > 1 << 20) {
        const b = Buffer.from(buf.join(''));
        h.update(b);
        await sink.write(b);
        buf = [];
        len = 0;
      }
    }
    const b = Buffer.from(buf.join(''));
    h.update(b);
    await sink.write(b);
    await sink.end();
    tagDigests.set(name, h.digest('hex'));
  };

  await addTag(L.BAGIT_TXT, BAGIT_TXT_TEXT);
  await addTag(
    L.BAG_INFO_TXT,
    bagInfoText({
      sourceOrganization: id.org,
      contactName: id.name,
      caseId: 'CASE-MANY',
      baggingDate: now.toISOString().slice(0, 10),
      payloadBytes,
      payloadFiles: n,
      softwareAgent: 'custody 0.0.0-test',
      algorithms,
      pieceSize,
    }),
  );
  const digests = algorithms.map(() => new Array(n));
  const pieces = new Array(n);
  const { merkleRootHex } = await dist('core/merkle.js');
  for (let i = 0; i < n; i++) {
    const bytes = content(i, minSize, maxSize);
    algorithms.forEach((a, k) => (digests[k][i] = crypto.createHash(a === 'sha3-256' ? 'sha3-256' : a).update(bytes).digest('hex')));
    if (pieceSize > 0) {
      const hashes = [];
      for (let at = 0; at < bytes.length; at += pieceSize) hashes.push(crypto.createHash('sha256').update(bytes.subarray(at, at + pieceSize)).digest('hex'));
      pieces[i] = { hashes, merkleRoot: merkleRootHex(hashes) };
    }
    await tar.addFile(root + names[i], bytes);
  }
  for (const [k, a] of algorithms.entries()) {
    await streamTag(L.manifestName(a), function* () {
      for (let i = 0; i < n; i++) yield `${digests[k][i]}  ${encodeManifestPath(names[i])}\n`;
    });
  }
  const sealer = { name: id.name, org: id.org, role: id.role, keyid: id.keyid, fingerprint: id.fingerprint, publicKey: toBase64(id.publicKey) };
  const head = {
    custodyBundleVersion: L.BUNDLE_VERSION,
    bundleName: bagName,
    case: { id: 'CASE-MANY', authority: 'Court of Testing' },
    sealedAt: now.toISOString(),
    tool: { name: 'custody', version: '0.0.0-test' },
    algorithms,
    pieceSize,
    sealer,
    items: [{ id: item, kind: 'directory', source: `/evidence/${item}`, meta: {}, emptyDirectories: [] }],
    files: [],
  };
  const headText = JSON.stringify(head, null, 2);
  const cut = headText.lastIndexOf('"files": []');
  await streamTag(L.CUSTODY_MANIFEST_JSON, function* () {
    yield `${headText.slice(0, cut)}"files": [`;
    for (let i = 0; i < n + (o.hostile === 'extra-entries' ? 1 : 0); i++) {
      const j = Math.min(i, n - 1);
      const mtime = i === 0 && o.hostile === 'entry-too-big' ? `2026-01-02T03:04:05.000Z${' '.repeat(70000)}` : '2026-01-02T03:04:05.000Z';
      const f = { path: names[j], item, size: sizes[j], mtime, hashes: {} };
      algorithms.forEach((a, k) => (f.hashes[a] = digests[k][j]));
      if (pieceSize > 0) f.pieces = { count: pieces[j].hashes.length, merkleRoot: pieces[j].merkleRoot };
      yield `${i === 0 ? '\n' : ',\n'}${JSON.stringify(f, null, 2).replace(/^/gm, '    ')}`;
    }
    yield `${n > 0 ? '\n  ' : ''}]\n}\n`;
  });
  await streamTag(L.PIECES_TXT, function* () {
    if (pieceSize === 0) return;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < pieces[i].hashes.length; k++) {
        const a = k * pieceSize;
        const b = Math.min(sizes[i], a + pieceSize) - 1;
        yield `${pieces[i].hashes[k]}  ${a}-${b}  ${encodeManifestPath(names[i])}\n`;
      }
    }
  });
  await addTag(L.SEALER_PEM, publicKeyToSpkiPem(id.publicKey));
  await addTag(L.SEALER_MINISIGN_PUB, minisignPublicKeyFile(id.publicKey, `custody sealer ${id.name} fingerprint ${id.fingerprint}`));
  const first = pieceSize > 0 ? { path: names[0], size: sizes[0], digest: pieces[0].hashes[0] } : undefined;
  await addTag(
    L.VERIFY_TXT,
    verifyText({
      bundleFile: path.basename(o.out),
      bagName,
      caseId: 'CASE-MANY',
      sealer,
      algorithms,
      pieceSize,
      ...(first ? { firstPiece: first } : {}),
      percentNames: false,
      lineBreakNames: [],
    }),
  );
  const tagmanifest = Buffer.from(manifestText(L.tagFilesInOrder(algorithms).map((name) => ({ path: name, digest: tagDigests.get(name) }))));
  const bundleDigest = crypto.createHash('sha256').update(tagmanifest).digest('hex');
  await tar.addFile(root + L.TAGMANIFEST, tagmanifest);
  await tar.addFile(root + L.SEAL_SIG, signer.sign(tagmanifest));
  const comments = L.minisigComments(bagName, bundleDigest, 'CASE-MANY');
  await tar.addFile(root + L.SEAL_MINISIG, Buffer.from(minisignSign(signer, tagmanifest, comments.trusted, comments.untrusted)));
  const predicate = { seq: 0, prev: null, action: 'seal', at: now.toISOString(), by: partyFromIdentity(id), authority: 'Court of Testing' };
  const rec = makeRecord(signer, { bundleName: bagName, bundleDigest, predicate });
  await tar.addFile(root + recordMemberName(0, 'seal'), rec.envelope);
  await tar.finish();
  fs.closeSync(fd);
  return { file: o.out, files: n, bytes: payloadBytes, bundleDigest, publicKey: id.publicKey, fingerprint: id.fingerprint };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [out, files, maxSize, minSize] = process.argv.slice(2);
  const r = await writeManyFilesBundle({ out, files: Number(files), maxSize: Number(maxSize ?? 64), minSize: Number(minSize ?? 1) });
  console.log(JSON.stringify({ file: r.file, files: r.files, bytes: r.bytes, bundleDigest: r.bundleDigest, fingerprint: r.fingerprint }));
}
