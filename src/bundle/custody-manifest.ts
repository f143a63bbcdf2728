/**
 * custody/manifest.json: what the evidence is (case, items, source device
 * metadata), every file's size, times, hashes and Merkle root, the sealer and
 * the tool. Parsed from untrusted bytes with a duplicate-key-rejecting JSON
 * parser and validated field by field: a report or a court form reads these
 * fields, so an unexpected shape must fail verification, not render.
 */
import { CustodyError } from '../core/errors.js';
import { GEOMETRY_COUNTS, GEOMETRY_OPTIONAL, geometryOf, type EwfGeometry } from '../core/ewf/geometry.js';
import { parseStrictJson } from '../custody/strict-json.js';
import { BUNDLE_VERSION, CUSTODY_MANIFEST_JSON, escapePathBytes, isValidId, parsePayloadPath } from './layout.js';
import { digestHexLength } from './manifests.js';

export interface ManifestSealer {
  name: string;
  org?: string;
  role?: string;
  keyid: string;
  fingerprint: string;
  publicKey: string; // base64 of the raw 32-byte key
}

/**
 * A disk image sealed as one item (EWF segments or split raw segments): the
 * hashes of the media it holds, and for EWF what the image says of itself.
 * Absent in bundles sealed before images were known (they still parse).
 */
export interface ManifestImage {
  format: 'ewf' | 'split';
  /** Payload paths of the segments, in segment order. */
  segments: string[];
  media: { size: number; hashes: Record<string, string>; pieces?: { count: number; merkleRoot: string } };
  /** EWF: the hashes the acquiring tool stored, and whether the media hashed at sealing time equals them. */
  stored?: { md5?: string; sha1?: string };
  matches?: { md5?: boolean; sha1?: boolean };
  /** EWF: case number, examiner, dates, … as recorded in the image (see src/core/ewf/format.ts). */
  acquisition?: Record<string, string>;
  geometry?: EwfGeometry;
  readErrors?: { firstSector: number; sectors: number }[];
}

export interface ManifestItem {
  id: string;
  kind: 'file' | 'directory' | 'image';
  image?: ManifestImage;
  /** The path the examiner sealed, as given on the command line (resolved). */
  source: string;
  description?: string;
  /** Free key=value facts: make, model, serial, acquisition tool, … */
  meta: Record<string, string>;
  /** Empty folders inside a directory item (BagIt manifests list files only; extract recreates these). */
  emptyDirectories: string[];
  /**
   * What there is to say about some of those folders, as files say it: why
   * Windows cannot hold the name, and the original bytes of a path sealed
   * escaped. Absent when there is nothing to say (and in bundles sealed before
   * empty folders were marked, which read as before).
   */
  emptyDirectoryMarks?: EmptyDirectoryMark[];
}

export interface EmptyDirectoryMark {
  /** As in emptyDirectories: the path inside the item. */
  path: string;
  windows?: string;
  /** Hex of the path's original bytes inside the item (see ManifestFile.nameBytes). */
  nameBytes?: string;
}

export interface ManifestFile {
  path: string; // data/<item>/<path>
  item: string;
  size: number;
  mtime: string; // ISO 8601
  hashes: Record<string, string>;
  pieces?: { count: number; merkleRoot: string };
  /** Why a Windows file system cannot hold this name (sealed as it is; extract there refuses or renames). */
  windows?: string;
  /** Hex of the path's original bytes inside the item, where a name in it is not valid UTF-8 (the path is then escaped: layout.escapeNameBytes). */
  nameBytes?: string;
}

export interface CustodyManifest {
  custodyBundleVersion: number;
  bundleName: string;
  case: { id: string; title?: string; authority?: string };
  sealedAt: string;
  tool: { name: string; version: string };
  algorithms: string[];
  pieceSize: number;
  sealer: ManifestSealer;
  items: ManifestItem[];
  files: ManifestFile[];
}

export function custodyManifestBytes(m: CustodyManifest): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(m, null, 2)}\n`);
}

/**
 * Where in the document a value sits, for messages. The path is put
 * together only when a check fails: made for every field of every element,
 * the strings cost as much as the checks on a manifest of 200,000 files.
 */
class Shape {
  constructor(
    private readonly name: string | number,
    private readonly parent?: Shape,
  ) {}
  get where(): string {
    if (this.parent === undefined) return String(this.name);
    return typeof this.name === 'number' ? `${this.parent.where}[${this.name}]` : `${this.parent.where}.${this.name}`;
  }
  fail(msg: string): never {
    throw new CustodyError('MALFORMED_BUNDLE', `${CUSTODY_MANIFEST_JSON}: ${this.where} ${msg}`, { member: CUSTODY_MANIFEST_JSON });
  }
  obj(v: unknown, required: string[], optional: string[] = []): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail('is not an object');
    const o = v as Record<string, unknown>;
    for (const k of required) if (!(k in o)) this.fail(`lacks "${k}"`);
    for (const k of Object.keys(o)) if (!required.includes(k) && !optional.includes(k)) this.fail(`has an unexpected field "${k}"`);
    return o;
  }
  at(sub: string): Shape {
    return new Shape(sub, this);
  }
  /** Element i of the array here. */
  elem(i: number): Shape {
    return new Shape(i, this);
  }
}

function str(s: Shape, v: unknown): string {
  if (typeof v !== 'string') s.fail('is not a string');
  return v as string;
}
function count(s: Shape, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) s.fail('is not a non-negative integer');
  return v as number;
}
function hex(s: Shape, v: unknown, len: number): string {
  const h = str(s, v);
  let ok = h.length === len;
  for (let k = 0; ok && k < len; k++) {
    const c = h.charCodeAt(k);
    ok = (c >= 48 && c <= 57) || (c >= 97 && c <= 102);
  }
  if (!ok) s.fail(`is not ${len} lowercase hex digits`);
  return h;
}
function optStr(s: Shape, o: Record<string, unknown>, k: string, into: Record<string, unknown>): void {
  if (k in o) into[k] = str(s.at(k), o[k]);
}
function arr(s: Shape, v: unknown): unknown[] {
  if (!Array.isArray(v)) s.fail('is not an array');
  return v as unknown[];
}

/** An image item's record as labelled facts, for the report's item block (acquisition first, then the media). */
export function imageFacts(im: ManifestImage): Record<string, string> {
  const out: Record<string, string> = {};
  const a = im.acquisition ?? {};
  const labels: [string, string][] = [
    ['caseNumber', 'acquisition case number'],
    ['evidenceNumber', 'acquisition evidence number'],
    ['examiner', 'acquisition examiner'],
    ['description', 'acquisition description'],
    ['notes', 'acquisition notes'],
    ['acquisitionDate', 'acquisition date'],
    ['systemDate', 'acquisition system date'],
    ['softwareVersion', 'acquisition software version'],
    ['os', 'acquisition platform'],
    ['model', 'media model'],
    ['serialNumber', 'media serial number'],
    ['deviceLabel', 'media label'],
  ];
  for (const [k, label] of labels) if (a[k] !== undefined) out[label] = a[k]!;
  out['image format'] = im.format === 'ewf' ? `EWF, ${im.segments.length} segment(s)` : `split raw, ${im.segments.length} segment(s)`;
  out['media size'] = `${im.media.size} bytes`;
  for (const [alg, h] of Object.entries(im.media.hashes)) out[`media ${alg}`] = h;
  for (const [k, name] of [['md5', 'MD5'], ['sha1', 'SHA-1']] as const) {
    const stored = im.stored?.[k];
    if (stored) out[`stored ${name}`] = `${stored} (${im.matches?.[k] === true ? 'matches the media' : im.matches?.[k] === false ? 'DOES NOT MATCH the media' : 'not checked'})`;
  }
  return out;
}

/** Hex of a path's original bytes: it must escape to exactly the sealed path (one spelling, and extract writes what was sealed). */
function nameBytes(s: Shape, v: unknown, sealed: string, prefix: string): string {
  const nb = str(s, v);
  if (!/^([0-9a-f]{2})+$/.test(nb)) s.fail('is not lowercase hex');
  const bytes = new Uint8Array(nb.length / 2).map((_, k) => parseInt(nb.slice(2 * k, 2 * k + 2), 16));
  if (`${prefix}${escapePathBytes(bytes)}` !== sealed) s.fail(`does not escape to the path ${sealed}`);
  return nb;
}

function windowsMark(s: Shape, v: unknown): string {
  const w = str(s, v);
  if (w === '') s.fail('is empty');
  return w;
}

function bool(s: Shape, v: unknown): boolean {
  if (typeof v !== 'boolean') s.fail('is not true or false');
  return v as boolean;
}

const ACQUISITION_FIELDS = ['caseNumber', 'evidenceNumber', 'examiner', 'description', 'notes', 'acquisitionDate', 'systemDate', 'softwareVersion', 'os', 'model', 'serialNumber', 'deviceLabel'];

function parseImage(s: Shape, v: unknown, itemId: string, algorithms: string[]): ManifestImage {
  const o = s.obj(v, ['format', 'segments', 'media'], ['stored', 'matches', 'acquisition', 'geometry', 'readErrors']);
  if (o.format !== 'ewf' && o.format !== 'split') s.at('format').fail('is not "ewf" or "split"');
  const segments = arr(s.at('segments'), o.segments).map((x) => {
    const p = str(s.at('segments'), x);
    if (parsePayloadPath(p, 'MALFORMED_BUNDLE').item !== itemId) s.at('segments').fail(`names ${p}, outside item ${itemId}`);
    return p;
  });
  if (segments.length === 0) s.at('segments').fail('is empty');
  const ms = s.at('media');
  const mo = ms.obj(o.media, ['size', 'hashes'], ['pieces']);
  const ho = ms.at('hashes').obj(mo.hashes, algorithms);
  const hashes: Record<string, string> = {};
  for (const a of algorithms) hashes[a] = hex(ms.at(`hashes.${a}`), ho[a], digestHexLength(a)!);
  const image: ManifestImage = { format: o.format as ManifestImage['format'], segments, media: { size: count(ms.at('size'), mo.size), hashes } };
  if ('pieces' in mo) {
    const ps = ms.at('pieces');
    const po = ps.obj(mo.pieces, ['count', 'merkleRoot']);
    image.media.pieces = { count: count(ps.at('count'), po.count), merkleRoot: hex(ps.at('merkleRoot'), po.merkleRoot, 64) };
  }
  if ('stored' in o) {
    const so = s.at('stored').obj(o.stored, [], ['md5', 'sha1']);
    image.stored = {};
    if ('md5' in so) image.stored.md5 = hex(s.at('stored.md5'), so.md5, 32);
    if ('sha1' in so) image.stored.sha1 = hex(s.at('stored.sha1'), so.sha1, 40);
  }
  if ('matches' in o) {
    const mt = s.at('matches').obj(o.matches, [], ['md5', 'sha1']);
    image.matches = {};
    if ('md5' in mt) image.matches.md5 = bool(s.at('matches.md5'), mt.md5);
    if ('sha1' in mt) image.matches.sha1 = bool(s.at('matches.sha1'), mt.sha1);
  }
  if ('acquisition' in o) {
    const ao = s.at('acquisition').obj(o.acquisition, [], ACQUISITION_FIELDS);
    image.acquisition = {};
    for (const [k, x] of Object.entries(ao)) image.acquisition[k] = str(s.at(`acquisition.${k}`), x);
  }
  if ('geometry' in o) {
    const gs = s.at('geometry');
    const go = gs.obj(o.geometry, [...GEOMETRY_COUNTS], [...GEOMETRY_OPTIONAL]);
    const counts = Object.fromEntries(GEOMETRY_COUNTS.map((k) => [k, count(gs.at(k), go[k])])) as Record<(typeof GEOMETRY_COUNTS)[number], number>;
    const g: EwfGeometry = geometryOf({
      ...counts,
      ...('compression' in go ? { compression: str(gs.at('compression'), go.compression) } : {}),
      ...('mediaType' in go ? { mediaType: str(gs.at('mediaType'), go.mediaType) } : {}),
      ...('physical' in go ? { physical: bool(gs.at('physical'), go.physical) } : {}),
    });
    image.geometry = g;
  }
  if ('readErrors' in o) {
    image.readErrors = arr(s.at('readErrors'), o.readErrors).map((e, i) => {
      const es = s.at(`readErrors[${i}]`);
      const eo = es.obj(e, ['firstSector', 'sectors']);
      return { firstSector: count(es.at('firstSector'), eo.firstSector), sectors: count(es.at('sectors'), eo.sectors) };
    });
  }
  return image;
}

/** What parsing a `files` element needs from the rest of the document. */
export interface ManifestContext {
  algorithms: string[];
  itemIds: Set<string>;
}

/** custody/manifest.json without its `files` (readers stream those one by one: parseManifestFile). */
export type ManifestHead = Omit<CustodyManifest, 'files'>;

function notJson(e: unknown): CustodyError {
  const why = e instanceof Error ? e.message : String(e);
  return new CustodyError('MALFORMED_BUNDLE', `${CUSTODY_MANIFEST_JSON}: not valid JSON (${why})`, { member: CUSTODY_MANIFEST_JSON });
}

/** Parses untrusted JSON bytes of custody/manifest.json (the whole document, its head, or one `files` element). */
export function parseManifestJson(bytes: Uint8Array): unknown {
  try {
    return parseStrictJson(bytes);
  } catch (e) {
    throw notJson(e);
  }
}

/**
 * Validates every field but `files` (whose value is not looked at). `files`
 * must be present; its elements go through parseManifestFile.
 */
export function parseManifestHead(doc: unknown): { head: ManifestHead; ctx: ManifestContext } {
  const top = new Shape('document');
  const o = top.obj(doc, ['custodyBundleVersion', 'bundleName', 'case', 'sealedAt', 'tool', 'algorithms', 'pieceSize', 'sealer', 'items', 'files']);
  if (o.custodyBundleVersion !== BUNDLE_VERSION) top.at('custodyBundleVersion').fail(`is not ${BUNDLE_VERSION}`);
  const cs = top.at('case');
  const co = cs.obj(o.case, ['id'], ['title', 'authority']);
  const kase: CustodyManifest['case'] = { id: str(cs.at('id'), co.id) };
  optStr(cs, co, 'title', kase);
  optStr(cs, co, 'authority', kase);
  const ts = top.at('tool');
  const to = ts.obj(o.tool, ['name', 'version']);
  const algorithms = arr(top.at('algorithms'), o.algorithms).map((a) => str(top.at('algorithms'), a));
  for (const a of algorithms) if (digestHexLength(a) === undefined) top.at('algorithms').fail(`lists unknown algorithm ${a}`);
  const ss = top.at('sealer');
  const so = ss.obj(o.sealer, ['name', 'keyid', 'fingerprint', 'publicKey'], ['org', 'role']);
  const sealer: ManifestSealer = {
    name: str(ss.at('name'), so.name),
    keyid: hex(ss.at('keyid'), so.keyid, 16),
    fingerprint: hex(ss.at('fingerprint'), so.fingerprint, 64),
    publicKey: str(ss.at('publicKey'), so.publicKey),
  };
  optStr(ss, so, 'org', sealer as unknown as Record<string, unknown>);
  optStr(ss, so, 'role', sealer as unknown as Record<string, unknown>);

  const itemIds = new Set<string>();
  const items = arr(top.at('items'), o.items).map((v, i): ManifestItem => {
    const s = top.at(`items[${i}]`);
    const io = s.obj(v, ['id', 'kind', 'source', 'meta', 'emptyDirectories'], ['description', 'image', 'emptyDirectoryMarks']);
    const id = str(s.at('id'), io.id);
    if (!isValidId(id)) s.at('id').fail('is not a valid item id');
    if (itemIds.has(id)) s.at('id').fail(`repeats item id ${id}`);
    itemIds.add(id);
    if (io.kind !== 'file' && io.kind !== 'directory' && io.kind !== 'image') s.at('kind').fail('is not "file", "directory" or "image"');
    if ((io.kind === 'image') !== ('image' in io)) s.at('image').fail(io.kind === 'image' ? 'is missing for an image item' : 'is given for an item that is not an image');
    const mo = s.at('meta').obj(io.meta, [], Object.keys((io.meta ?? {}) as object));
    const meta: Record<string, string> = {};
    for (const [k, mv] of Object.entries(mo)) meta[k] = str(s.at(`meta.${k}`), mv);
    const emptyDirectories = arr(s.at('emptyDirectories'), io.emptyDirectories).map((d) => {
      const p = str(s.at('emptyDirectories'), d);
      parsePayloadPath(`data/${id}/${p}`, 'MALFORMED_BUNDLE'); // same name rules as files: extract creates these
      return p;
    });
    const item: ManifestItem = { id, kind: io.kind as ManifestItem['kind'], source: str(s.at('source'), io.source), meta, emptyDirectories };
    if ('emptyDirectoryMarks' in io) {
      const seen = new Set<string>();
      item.emptyDirectoryMarks = arr(s.at('emptyDirectoryMarks'), io.emptyDirectoryMarks).map((x, k) => {
        const ms = s.at(`emptyDirectoryMarks[${k}]`);
        const mo = ms.obj(x, ['path'], ['windows', 'nameBytes']);
        const p = str(ms.at('path'), mo.path);
        if (!emptyDirectories.includes(p)) ms.at('path').fail(`names ${p}, which is not in emptyDirectories`);
        if (seen.has(p)) ms.at('path').fail(`repeats ${p}`);
        seen.add(p);
        const mark: EmptyDirectoryMark = { path: p };
        if ('windows' in mo) mark.windows = windowsMark(ms.at('windows'), mo.windows);
        if ('nameBytes' in mo) mark.nameBytes = nameBytes(ms.at('nameBytes'), mo.nameBytes, p, '');
        return mark;
      });
    }
    if ('description' in io) item.description = str(s.at('description'), io.description);
    if ('image' in io) item.image = parseImage(s.at('image'), io.image, id, algorithms);
    return item;
  });
  const head: ManifestHead = {
    custodyBundleVersion: BUNDLE_VERSION,
    bundleName: str(top.at('bundleName'), o.bundleName),
    case: kase,
    sealedAt: str(top.at('sealedAt'), o.sealedAt),
    tool: { name: str(ts.at('name'), to.name), version: str(ts.at('version'), to.version) },
    algorithms,
    pieceSize: count(top.at('pieceSize'), o.pieceSize),
    sealer,
    items,
  };
  return { head, ctx: { algorithms, itemIds } };
}

const FILES = new Shape('document').at('files');

/** Validates element i of `files`. */
export function parseManifestFile(v: unknown, i: number, ctx: ManifestContext): ManifestFile {
  const { algorithms, itemIds } = ctx;
  const s = FILES.elem(i);
  const fo = s.obj(v, ['path', 'item', 'size', 'mtime', 'hashes'], ['pieces', 'windows', 'nameBytes']);
  const path = str(s.at('path'), fo.path);
  const item = str(s.at('item'), fo.item);
  if (parsePayloadPath(path, 'MALFORMED_BUNDLE').item !== item) s.at('item').fail(`does not match the path ${path}`);
  if (!itemIds.has(item)) s.at('item').fail(`names an item ${item} that is not in items`);
  const hs = s.at('hashes');
  const ho = hs.obj(fo.hashes, algorithms);
  const hashes: Record<string, string> = {};
  for (const a of algorithms) hashes[a] = hex(hs.at(a), ho[a], digestHexLength(a)!);
  const f: ManifestFile = { path, item, size: count(s.at('size'), fo.size), mtime: str(s.at('mtime'), fo.mtime), hashes };
  if ('pieces' in fo) {
    const ps = s.at('pieces');
    const po = ps.obj(fo.pieces, ['count', 'merkleRoot']);
    f.pieces = { count: count(ps.at('count'), po.count), merkleRoot: hex(ps.at('merkleRoot'), po.merkleRoot, 64) };
  }
  if ('nameBytes' in fo) f.nameBytes = nameBytes(s.at('nameBytes'), fo.nameBytes, path, `data/${item}/`);
  if ('windows' in fo) f.windows = windowsMark(s.at('windows'), fo.windows);
  return f;
}

/** An image's segments are files of that item, listed in the manifest: `has` says whether one is. */
export function checkImageSegments(items: ManifestItem[], has: (path: string, item: string) => boolean): void {
  const top = new Shape('document');
  for (const it of items) {
    for (const seg of it.image?.segments ?? []) {
      if (!has(seg, it.id)) top.at(`items.${it.id}.image.segments`).fail(`names ${seg}, which is not a file of the item`);
    }
  }
}

/** The whole document at once (small manifests: chain-read, tests); verify streams it (manifest-stream.ts). */
export function parseCustodyManifest(bytes: Uint8Array): CustodyManifest {
  const doc = parseManifestJson(bytes);
  const { head, ctx } = parseManifestHead(doc);
  const files = new Shape('document').at('files');
  const list = arr(files, (doc as Record<string, unknown>).files).map((v, i) => parseManifestFile(v, i, ctx));
  const paths = new Set(list.map((f) => `${f.item}\u0000${f.path}`));
  checkImageSegments(head.items, (p, item) => paths.has(`${item}\u0000${p}`));
  return { ...head, files: list };
}
