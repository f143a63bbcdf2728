/** Test helpers: feed bytes to the strict reader in chunks and collect what it yields. */
import { readTarStrict, type ReadTarOptions } from '../../src/bundle/tar-reader.js';

export async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

export interface ReadMember {
  name: string;
  type: 'file' | 'dir';
  size: number;
  headerOffset: number;
  dataOffset: number;
  data?: Uint8Array;
}

/** Reads everything; `skipBodies` leaves bodies unread so the reader must drain them itself. */
export async function readAll(
  bytes: Uint8Array,
  chunk = bytes.length || 1,
  opts: ReadTarOptions & { skipBodies?: boolean } = {},
): Promise<{ members: ReadMember[]; endOfData: number | undefined; archiveSize: number | undefined }> {
  const reader = readTarStrict(chunked(bytes, chunk), opts);
  const members: ReadMember[] = [];
  for await (const e of reader) {
    const m: ReadMember = { name: e.name, type: e.type, size: e.size, headerOffset: e.headerOffset, dataOffset: e.dataOffset };
    if (!opts.skipBodies) {
      const parts: Uint8Array[] = [];
      for await (const c of e.body()) parts.push(c.slice());
      m.data = Buffer.concat(parts);
    }
    members.push(m);
  }
  return { members, endOfData: reader.endOfData, archiveSize: reader.archiveSize };
}
