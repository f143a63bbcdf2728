/**
 * The files of one item, held compactly: the names of a folder of 1,000,000
 * files as byte strings in blocks, each file's path as its folder's number
 * and its own name (a path's folders are most of its bytes), sizes and times
 * in typed arrays in blocks (about 45 bytes a file, where an object per file
 * took 360), so that
 * collecting a large export does not exhaust memory before a byte is hashed.
 * Also the order BagIt manifests list the files in (by path bytes), computed
 * once while walking, so that seal can write them sorted without holding
 * every path as a string.
 *
 * An ItemFile object is made only when one file is looked at.
 */
import path from 'node:path';
import { ByteRuns, float64s, uint32s, uint8s } from '../core/blocks.js';
import { escapePathBytes } from './layout.js';

export interface ItemFile {
  /** Path on disk, to read (its bytes, where a name in it is not valid UTF-8). */
  abs: string | Buffer;
  /** The original bytes of `rel`, where a name in it is not valid UTF-8 (`rel` is then escaped: escapeNameBytes). */
  relBytes?: Buffer;
  /** Path inside the item ('/'-separated, as on disk). */
  rel: string;
  size: number;
  mtime: Date;
}

/** A view's bytes as a Buffer, not copied. */
const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.length);

export class ItemFiles implements Iterable<ItemFile> {
  /** Files added as objects (a single file, image segments); then the compact arrays are unused. */
  private readonly objects: ItemFile[] = [];
  /** Walked files' own names (their folders: `folders`), in blocks (core/blocks.ts): with arrays that doubled and were then trimmed, the walk of a million files peaked at 262 MB, 190 MB then. */
  private readonly names = new ByteRuns();
  /** Paths of the folders holding walked files, inside the item ('' for the item's own folder), and each file's. */
  private readonly folders = new ByteRuns();
  private readonly folderOf = uint32s();
  /** The last folder's path decoded (files are looked at in folder order, nearly). */
  private shownFolder = { index: -1, text: '' };
  private readonly sizes = float64s();
  private readonly mtimes = float64s();
  /** 1: some component of the path is not valid UTF-8 (the path is sealed escaped, read by its bytes). */
  private readonly escaped = uint8s();
  /** Sum of the sizes. */
  totalBytes = 0;
  /**
   * Indexes of the files in the order of their paths' bytes (the manifests'
   * order); undefined = the order they were added in is that order.
   */
  sorted: ArrayLike<number> | undefined;

  /** `base`: the item's folder on disk (walked files are `base/rel`). */
  constructor(private readonly base: string) {}

  get length(): number {
    return this.objects.length + this.sizes.length;
  }

  push(f: ItemFile): void {
    if (this.sizes.length > 0) throw new Error('ItemFiles: objects and walked files do not mix');
    this.objects.push(f);
    this.totalBytes += f.size;
  }

  /** A folder under `base` that holds walked files: its path inside the item as bytes (empty: `base` itself). Returns its number. */
  folder(relBytes: Uint8Array): number {
    return this.folders.push(relBytes);
  }

  /** A file found by walking `base`, in folder number `folder`: its name as bytes. Returns its index. */
  pushWalked(folder: number, nameBytes: Uint8Array, escaped: boolean, size: number, mtimeMs: number): number {
    if (this.objects.length > 0) throw new Error('ItemFiles: objects and walked files do not mix');
    if (folder >= this.folders.length) throw new Error('ItemFiles: no such folder');
    const i = this.sizes.length;
    this.names.push(nameBytes);
    this.folderOf.push(folder);
    this.sizes.push(size);
    this.mtimes.push(mtimeMs);
    this.escaped.push(escaped ? 1 : 0);
    this.totalBytes += size;
    return i;
  }

  size(i: number): number {
    return this.objects.length > 0 ? this.objects[i]!.size : this.sizes.get(i);
  }

  /** The path inside the item, as sealed (escaped where a name is not valid UTF-8). */
  rel(i: number): string {
    if (this.objects.length > 0) return this.objects[i]!.rel;
    if (this.escaped.get(i)) return escapePathBytes(this.pathBytes(i));
    const folder = this.folderOf.get(i);
    if (this.shownFolder.index !== folder) this.shownFolder = { index: folder, text: asBuffer(this.folders.at(folder)).toString('utf8') };
    const name = asBuffer(this.names.at(i)).toString('utf8');
    return this.shownFolder.text === '' ? name : `${this.shownFolder.text}/${name}`;
  }

  /** A walked file's path inside the item, as bytes (a new Buffer). */
  private pathBytes(i: number): Buffer {
    const folder = this.folders.at(this.folderOf.get(i));
    const name = this.names.at(i);
    if (folder.length === 0) return Buffer.from(name);
    const out = Buffer.allocUnsafe(folder.length + 1 + name.length);
    out.set(folder, 0);
    out[folder.length] = 0x2f;
    out.set(name, folder.length + 1);
    return out;
  }

  /** Modification time (of a walked file, as Node makes Stats.mtime from mtimeMs). */
  mtime(i: number): Date {
    return this.objects.length > 0 ? this.objects[i]!.mtime : new Date(Math.round(this.mtimes.get(i)));
  }

  /** The original bytes of `rel(i)` where a name in it is not valid UTF-8. */
  relBytes(i: number): Uint8Array | undefined {
    if (this.objects.length > 0) return this.objects[i]!.relBytes;
    return this.escaped.get(i) ? this.pathBytes(i) : undefined;
  }

  get(i: number): ItemFile {
    if (this.objects.length > 0) return this.objects[i]!;
    const rel = this.rel(i);
    const f: ItemFile = { abs: '', rel, size: this.sizes.get(i), mtime: this.mtime(i) };
    if (this.escaped.get(i)) {
      const relBytes = this.pathBytes(i);
      f.relBytes = relBytes;
      f.abs = Buffer.concat([Buffer.from(this.base), Buffer.from('/'), relBytes]);
    } else {
      f.abs = path.join(this.base, rel);
    }
    return f;
  }

  /** Manifest order (path bytes) as indexes. */
  order(): ArrayLike<number> {
    return this.sorted ?? Array.from({ length: this.length }, (_, i) => i);
  }

  *[Symbol.iterator](): Iterator<ItemFile> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }

}
