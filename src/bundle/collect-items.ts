/**
 * Turns the paths given to `custody seal` into items: a file is one item
 * holding that file; a directory is one item holding all its files,
 * recursively, in byte order of their names (so the member order does not
 * depend on the file system or the locale). Names are sealed as they are on
 * disk: NFD stays NFD, and names that differ only in case or normalisation
 * (README.txt beside Readme.txt) are both kept; extract refuses a target that
 * cannot hold both.
 *
 * Refused up front, with a usage error naming the path, rather than sealed
 * into a bundle that a strict reader would later refuse or that would mean
 * something else on the receiver's machine: symlinks, devices, FIFOs and
 * sockets inside a directory (a symlink could pull in files from outside the
 * item); names with control characters, backslashes or over 255 bytes.
 *
 * Empty directories cannot be listed in a BagIt manifest; they are kept in
 * custody/manifest.json (`emptyDirectories`) and recreated by extract.
 */
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { CustodyError, fromSystemError } from '../core/errors.js';
import { ewfSegmentFiles, isEwfImage, splitSegments } from '../core/ewf/files.js';
import { assertItemId, compareNames, componentProblem, escapeNameBytes, escapePathBytes, itemIdFromName } from './layout.js';
import { foldName } from './tar-names.js';
import { ItemFiles } from './item-files.js';

export interface ItemRequest {
  path: string;
  id?: string;
  description?: string;
  meta: Record<string, string>;
  /** The path is the first segment of a split raw image (image.001, image.aa): seal every segment as one item. */
  split?: boolean;
}

export type { ItemFile } from './item-files.js';

export interface CollectedItem {
  id: string;
  /** 'image': the segment files of one disk image (EWF or split raw), in segment order, hashed also as the media they hold. */
  kind: 'file' | 'directory' | 'image';
  image?: { format: 'ewf' | 'split' };
  source: string;
  description?: string;
  meta: Record<string, string>;
  files: ItemFiles;
  emptyDirectories: string[];
  /** The original bytes of an empty folder's path, where a name in it is not valid UTF-8 (the path in emptyDirectories is then escaped). */
  emptyDirectoryBytes?: Map<string, Buffer>;
}

function usage(msg: string, hint?: string): CustodyError {
  return new CustodyError('USAGE', msg, hint === undefined ? {} : { hint });
}

function checkedComponent(name: string, where: string): string {
  const p = componentProblem(name);
  if (p) throw usage(`cannot seal ${where}: it has ${p}`, 'rename it, or put it in an archive first');
  return name;
}

const SLASH = Buffer.from('/');
const EMPTY = Buffer.alloc(0);

/**
 * Walks one folder of an item, adding its files in member order (each
 * folder's entries by name bytes, depth first) and returning their indexes in
 * manifest order (by path bytes): within a folder that is the order of the
 * entries' names with '/' after each folder's name, since every path below a
 * folder starts with that name and '/'.
 * Synchronous calls: for tens of thousands of small files a round trip
 * through the thread pool per entry cost more than the system call itself.
 */
function walk(dir: string | Buffer, relDirBytes: Buffer | undefined, escapedAbove: boolean, item: CollectedItem): number[] {
  let entries: import('node:fs').Dirent<Buffer>[];
  const shown = (p: string | Buffer) => (typeof p === 'string' ? p : escapePathBytes(p));
  try {
    // Names as bytes: one that is not valid UTF-8 is still the evidence's name (sealed escaped, restored on extract).
    entries = fsSync.readdirSync(dir, { withFileTypes: true, encoding: 'buffer' });
  } catch (e) {
    throw fromSystemError(e, shown(dir));
  }
  const named = entries.map((d) => {
    const bytes = d.name;
    const escaped = escapeNameBytes(bytes);
    const name = escaped ?? bytes.toString('utf8');
    const abs: string | Buffer =
      typeof dir === 'string' && escaped === undefined ? path.join(dir, name) : Buffer.concat([typeof dir === 'string' ? Buffer.from(dir) : dir, SLASH, bytes]);
    return { d, abs, name: checkedComponent(name, shown(abs)), escaped: escapedAbove || escaped !== undefined, ownEscaped: escaped !== undefined };
  });
  named.sort((a, b) => compareNames(a.name, b.name));
  // A name that is not valid UTF-8 is sealed escaped (%XX): the escape of one can be another's real name
  // ('%FF' beside the byte 0xFF). Both would become one member name, which every reader refuses as a duplicate.
  for (let i = 1; i < named.length; i++) {
    if (named[i]!.name === named[i - 1]!.name) {
      const [x, y] = named[i]!.ownEscaped ? [named[i]!, named[i - 1]!] : [named[i - 1]!, named[i]!];
      throw usage(
        `cannot seal ${shown(x.abs)}: its name is not valid UTF-8 (bytes ${x.d.name.toString('hex')}) and would be sealed as ${JSON.stringify(x.name)}, the name of ${shown(y.abs)} beside it`,
        'rename one of them',
      );
    }
  }
  const subtrees: { key: string; order: number[] }[] = [];
  let folder = -1; // this folder's number in item.files, once it holds a file
  for (const { d, abs, name, escaped } of named) {
    if (d.isSymbolicLink()) throw usage(`cannot seal ${shown(abs)}: symbolic links inside an item are refused`, 'copy the target in, or seal it as its own item');
    if (d.isDirectory()) {
      const relBytes = relDirBytes === undefined ? d.name : Buffer.concat([relDirBytes, SLASH, d.name]);
      const before = item.files.length + item.emptyDirectories.length;
      const order = walk(abs, relBytes, escaped, item);
      if (item.files.length + item.emptyDirectories.length === before) {
        const rel = escaped ? escapePathBytes(relBytes) : relBytes.toString('utf8');
        item.emptyDirectories.push(rel);
        if (escaped) (item.emptyDirectoryBytes ??= new Map()).set(rel, relBytes);
      }
      subtrees.push({ key: `${name}/`, order });
    } else if (d.isFile()) {
      let st: import('node:fs').Stats;
      try {
        st = fsSync.lstatSync(abs);
      } catch (e) {
        throw fromSystemError(e, shown(abs));
      }
      if (folder < 0) folder = item.files.folder(relDirBytes ?? EMPTY);
      subtrees.push({ key: name, order: [item.files.pushWalked(folder, d.name, escaped, st.size, st.mtimeMs)] });
    } else {
      throw usage(`cannot seal ${shown(abs)}: only regular files and directories can be sealed (not devices, FIFOs or sockets)`);
    }
  }
  subtrees.sort((a, b) => compareNames(a.key, b.key));
  if (subtrees.length === 1) return subtrees[0]!.order;
  const out: number[] = [];
  for (const t of subtrees) for (const i of t.order) out.push(i);
  return out;
}

export async function collectItems(requests: ItemRequest[]): Promise<CollectedItem[]> {
  if (requests.length === 0) throw usage('nothing to seal: give at least one path');
  const items: CollectedItem[] = [];
  const ids = new Map<string, string>();
  // Explicit ids first, so that a default never takes an id the user chose.
  for (const r of requests) {
    if (r.id === undefined) continue;
    assertItemId(r.id);
    const k = foldName(r.id);
    if (ids.has(k)) throw usage(`item id ${r.id} is given twice (ids are compared ignoring case)`);
    ids.set(k, r.id);
  }
  for (const r of requests) {
    const source = path.resolve(r.path);
    let st: import('node:fs').Stats;
    try {
      st = await fs.stat(source);
    } catch (e) {
      throw fromSystemError(e, r.path);
    }
    let id = r.id;
    if (id === undefined) {
      const base = itemIdFromName(path.basename(source));
      id = base;
      for (let n = 2; ids.has(foldName(id)); n++) id = `${base.slice(0, 60)}-${n}`;
      ids.set(foldName(id), id);
    }
    const item: CollectedItem = { id, kind: st.isDirectory() ? 'directory' : 'file', source, meta: r.meta, files: new ItemFiles(source), emptyDirectories: [] };
    if (r.description !== undefined) item.description = r.description;
    if (r.split && !st.isFile()) throw usage(`--split takes the first segment file of a split image, not ${r.path}`);
    const image = st.isFile() ? (r.split ? 'split' : (await isEwfImage(source)) ? 'ewf' : undefined) : undefined;
    if (image) {
      // The segments as they are, one item; their order is the segment order, checked (gaps, short segments) now.
      item.kind = 'image';
      item.image = { format: image };
      const segments = image === 'ewf' ? await ewfSegmentFiles(source) : (await splitSegments([source])).map((s) => s.path);
      for (const seg of segments) {
        const sst = await fs.stat(seg).catch((e: unknown) => {
          throw fromSystemError(e, seg);
        });
        item.files.push({ abs: seg, rel: checkedComponent(path.basename(seg), seg), size: sst.size, mtime: sst.mtime });
      }
    } else if (st.isFile()) {
      item.files.push({ abs: source, rel: checkedComponent(path.basename(source), source), size: st.size, mtime: st.mtime });
    } else if (st.isDirectory()) {
      const order = walk(source, undefined, false, item);
      if (order.some((v, i) => v !== i)) item.files.sorted = Uint32Array.from(order);
    } else {
      throw usage(`cannot seal ${r.path}: not a regular file or directory`, 'image a device first (e.g. with dc3dd) and seal the image file');
    }
    items.push(item);
  }
  return items;
}

/**
 * Refuses an --out that is one of the evidence files (by path or, when it
 * exists, by inode: a hard link) or lies inside an item folder. Threat:
 * `seal disk.dd --out disk.dd --force` would replace the only copy of the
 * evidence with the bundle, and an --out inside a folder being sealed changes
 * the evidence folder while it is read.
 */
export function assertOutsideItems(out: string, items: CollectedItem[]): void {
  let realOut: string;
  try {
    realOut = path.join(fsSync.realpathSync(path.dirname(out)), path.basename(out));
  } catch {
    return; // the folder does not exist: the write fails later with its own error
  }
  const outStat = fsSync.statSync(realOut, { throwIfNoEntry: false });
  for (const item of items) {
    if (item.kind === 'directory') {
      const root = fsSync.realpathSync(item.source);
      if (realOut.startsWith(root + path.sep)) {
        throw usage(`--out ${out} lies inside item ${item.id} (${item.source}), which is being sealed`, 'write the bundle outside the evidence');
      }
    }
    // Every file of a folder item lies inside it (refused above): only a hard link to one remains, if --out exists.
    // And a hard link needs a second name: an --out with one link is no file of the item (no stat per file).
    if (item.kind === 'directory' && (outStat === undefined || outStat.nlink <= 1)) continue;
    for (const f of item.files) {
      if (typeof f.abs !== 'string') {
        if (outStat !== undefined && sameInode(outStat, fsSync.statSync(f.abs))) throw usage(`--out ${out} is an evidence file of item ${item.id}`, 'write the bundle to another file: sealing must never replace the evidence');
        continue; // a name that is not UTF-8 is never the --out path given as text
      }
      const real = fsSync.realpathSync(f.abs);
      const same = real === realOut || (outStat !== undefined && sameInode(outStat, fsSync.statSync(real)));
      if (same) throw usage(`--out ${out} is the evidence file ${f.abs} of item ${item.id}`, 'write the bundle to another file: sealing must never replace the evidence');
    }
  }
}

function sameInode(a: fsSync.Stats, b: fsSync.Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}
