/**
 * The header walk as it was before it read through a window: one 512-byte
 * positioned read per header. Kept only as the reference the windowed walk
 * (src/bundle/tar-locate.ts) must agree with, member for member and error
 * for error.
 */
import type { FileHandle } from 'node:fs/promises';
import { CustodyError } from '../../src/core/errors.js';
import { BLOCK, MAX_PAX_SIZE, decodeHeader, isZeroBlock, paddingFor, parsePax, resolveHeader } from '../../src/bundle/tar-header.js';
import { NameTracker, checkMemberName } from '../../src/bundle/tar-names.js';

async function preadAt(fh: FileHandle, length: number, position: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

interface LocatedMember {
  name: string;
  type: 'file' | 'dir';
  size: number;
  /** Offset of the member's first data byte. */
  dataOffset: number;
}

interface LocatedEnd {
  endOfData: number;
  members: LocatedMember[];
}

/**
 * `stopAt`: walk only the first `stopAt` bytes, which must end exactly on a
 * member boundary (the bundle as it was before an interrupted append); the
 * end marker and tail after it are not looked at.
 */
export async function referenceLocate(fh: FileHandle, size: number, stopAt?: number): Promise<LocatedEnd> {
  const members: LocatedEnd['members'] = [];
  const names = new NameTracker();
  let pax: Map<string, string> | undefined;
  let off = 0;
  for (;;) {
    if (stopAt !== undefined && off >= stopAt) {
      if (off > stopAt || pax) throw new CustodyError('MALFORMED_BUNDLE', `offset ${stopAt} is not on a member boundary of the bundle`);
      return { endOfData: off, members };
    }
    const block = await preadAt(fh, BLOCK, off);
    if (block.length < BLOCK) {
      throw new CustodyError('MALFORMED_BUNDLE', `the bundle has no end-of-archive marker (truncated at offset ${off})`);
    }
    if (isZeroBlock(block)) {
      if (pax) throw new CustodyError('UNSAFE_BUNDLE', `pax header not followed by a member (offset ${off})`);
      if (stopAt !== undefined) throw new CustodyError('MALFORMED_BUNDLE', `the bundle ends at offset ${off}, before offset ${stopAt}`);
      await checkZeroTail(fh, off, size);
      return { endOfData: off, members };
    }
    const h = decodeHeader(block, off);
    if (h.typeflag === 'x') {
      if (pax || h.size > MAX_PAX_SIZE) throw new CustodyError('UNSAFE_BUNDLE', `bad pax header at offset ${off}`);
      pax = parsePax(await preadAt(fh, h.size, off + BLOCK), off);
      off += BLOCK + h.size + paddingFor(h.size);
      continue;
    }
    const r = resolveHeader(h, pax, off);
    pax = undefined;
    const name = checkMemberName(r.name, r.type);
    names.add(name, r.type);
    members.push({ name, type: r.type, size: r.size, dataOffset: off + BLOCK });
    off += BLOCK + r.size + paddingFor(r.size);
    if (off > size) throw new CustodyError('MALFORMED_BUNDLE', `the bundle is truncated inside member ${JSON.stringify(name)}`, { member: name });
  }
}

async function checkZeroTail(fh: FileHandle, endOfData: number, size: number): Promise<void> {
  if (size < endOfData + 2 * BLOCK) {
    throw new CustodyError('MALFORMED_BUNDLE', `the bundle is truncated in its end-of-archive marker (offset ${endOfData})`);
  }
  for (let at = endOfData; at < size; at += 1 << 16) {
    const chunk = await preadAt(fh, Math.min(1 << 16, size - at), at);
    const k = chunk.findIndex((b) => b !== 0);
    if (k >= 0) {
      throw new CustodyError('UNSAFE_BUNDLE', `data after the end-of-archive marker at offset ${at + k} (only zero padding may follow it)`, {
        range: [at + k, at + chunk.length],
      });
    }
  }
}
