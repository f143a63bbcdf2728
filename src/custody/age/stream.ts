/**
 * age v1 encryption and decryption of a byte stream: the header (stanzas and
 * its HMAC), a 16-byte nonce, then the payload in STREAM chunks of 64 KiB of
 * ChaCha20-Poly1305 with a counter nonce whose last byte flags the final chunk.
 *
 * Memory stays flat and makes no garbage: chunks are sealed into, and opened
 * into, a few buffers used in turn, whatever the size. A consumer must
 * therefore be done with a yielded buffer before it asks for the one after
 * the next (the contract of bundle/file-source.ts, which the writers and the
 * verifier already keep).
 *
 * Threats guarded against: a changed header (the HMAC under a key derived
 * from the file key covers every header byte), a changed, reordered or
 * dropped chunk (each chunk's tag binds its position), a truncated file (the
 * last chunk must carry the final flag; a file cut at a chunk boundary is
 * named as truncated), data appended after the final chunk, and plaintext
 * released before its tag verified (a chunk is yielded only after it opened).
 */
import { CustodyError } from '../../core/errors.js';
import { encodeHeaderWithoutMac, encodeMacLine, headerError, MAX_HEADER_BYTES, parseHeader, type Stanza } from './format.js';
import { CHUNK_SIZE, SEALED_CHUNK_SIZE as SEALED_CHUNK, sealChunks, setChunkNonce } from './chunks.js';
import { aead, hkdfSha256, hmacSha256, randomBytes, TAG_SIZE } from './primitives.js';
import { FILE_KEY_SIZE, type AgeIdentity, type AgeRecipient } from './recipients.js';

export { CHUNK_SIZE, chunkCount, SEALED_CHUNK_SIZE, sealedPayloadSize } from './chunks.js';

const NONCE_SIZE = 16;

function headerMac(fileKey: Uint8Array, macInput: Uint8Array): Uint8Array {
  return hmacSha256(hkdfSha256(fileKey, new Uint8Array(0), 'header', 32), macInput);
}

function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  return hkdfSha256(fileKey, nonce, 'payload', 32);
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i]! ^ b[i]!;
  return acc === 0;
}

export interface AgeStart {
  /** The header (stanzas and MAC line), then the 16-byte payload nonce: the file's first bytes. */
  head: Uint8Array;
  /** The payload key, for sealChunks. */
  key: Uint8Array;
}

/** A fresh file key wrapped to every recipient: the bytes before the payload, and the key that seals it. */
export function beginAge(recipients: AgeRecipient[]): AgeStart {
  if (recipients.length === 0) throw new CustodyError('USAGE', 'age encryption needs at least one recipient');
  const fileKey = randomBytes(FILE_KEY_SIZE);
  const stanzas: Stanza[] = recipients.flatMap((r) => r.wrap(fileKey));
  const macInput = encodeHeaderWithoutMac(stanzas);
  const macLine = encodeMacLine(headerMac(fileKey, macInput));
  const nonce = randomBytes(NONCE_SIZE);
  const head = new Uint8Array(macInput.length + macLine.length + NONCE_SIZE);
  head.set(macInput, 0);
  head.set(macLine, macInput.length);
  head.set(nonce, macInput.length + macLine.length);
  return { head, key: payloadKey(fileKey, nonce) };
}

/** Sealed chunks gathered per yield of encryptAge: about 1 MiB, one write each. */
const SEGMENT_CHUNKS = 16;

/**
 * Encrypts `source` to every recipient; yields the age file's bytes: the
 * header, then segments of up to 16 sealed chunks from two buffers used in
 * turn (a segment is valid until the segment after the next is requested).
 * For a file on disk, bundle/age-seal-pool.ts seals the same bytes on every core.
 */
export async function* encryptAge(source: AsyncIterable<Uint8Array>, recipients: AgeRecipient[]): AsyncGenerator<Uint8Array> {
  const { head, key } = beginAge(recipients);
  yield head;
  const segments = [new Uint8Array(SEGMENT_CHUNKS * SEALED_CHUNK), new Uint8Array(SEGMENT_CHUNKS * SEALED_CHUNK)];
  let segment = segments[0]!;
  let filled = 0;
  let counter = 0;
  const sealChunk = (plaintext: Uint8Array, last: boolean) => {
    filled += sealChunks(key, plaintext, counter++, last, segment.subarray(filled, filled + plaintext.length + TAG_SIZE));
  };
  const buf = new Uint8Array(CHUNK_SIZE);
  let used = 0;
  for await (const piece of source) {
    let off = 0;
    while (off < piece.length) {
      // Whole chunks with more data after them are sealed straight from the input (no copy).
      while (used === 0 && piece.length - off > CHUNK_SIZE) {
        sealChunk(piece.subarray(off, off + CHUNK_SIZE), false);
        off += CHUNK_SIZE;
        if (filled === segment.length) {
          yield segment;
          segment = segments[counter / SEGMENT_CHUNKS % 2]!;
          filled = 0;
        }
      }
      // A full buffer is sealed as a non-final chunk only once more data is known to follow.
      if (used === CHUNK_SIZE) {
        sealChunk(buf, false);
        used = 0;
        if (filled === segment.length) {
          yield segment;
          segment = segments[counter / SEGMENT_CHUNKS % 2]!;
          filled = 0;
        }
        continue;
      }
      const n = Math.min(CHUNK_SIZE - used, piece.length - off);
      buf.set(piece.subarray(off, off + n), used);
      used += n;
      off += n;
    }
  }
  sealChunk(buf.subarray(0, used), true);
  yield segment.subarray(0, filled);
}

/** Pulls bytes from an async iterator with a pushback buffer, for reading the header line by line. */
class ByteReader {
  private pending: Uint8Array = new Uint8Array(0);
  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  /** Reads through the next '\n' (included); null at EOF before one. */
  async line(limit: number): Promise<Uint8Array | null> {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const nl = this.pending.indexOf(0x0a);
      if (nl >= 0) {
        parts.push(this.pending.slice(0, nl + 1));
        total += nl + 1;
        this.pending = this.pending.subarray(nl + 1);
        break;
      }
      parts.push(this.pending.slice());
      total += this.pending.length;
      if (total > limit) throw headerError(`longer than ${limit} bytes (not an age file?)`);
      const r = await this.it.next();
      if (r.done) {
        this.pending = new Uint8Array(0);
        return null;
      }
      this.pending = r.value;
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /** The bytes left over after the header, then the rest of the source. */
  async *rest(): AsyncGenerator<Uint8Array> {
    if (this.pending.length > 0) yield this.pending;
    this.pending = new Uint8Array(0);
    for (;;) {
      const r = await this.it.next();
      if (r.done) return;
      yield r.value;
    }
  }
}

export interface AgeHeaderInfo {
  /** The recipient stanzas' types and first argument, for telling someone who the file is for. */
  recipients: string[];
  /** The header's length in bytes (the payload nonce follows it). */
  headerBytes: number;
  /** The label of the identity that opened it. */
  openedWith: string;
}

export interface AgeDecryption {
  header: AgeHeaderInfo;
  /** The plaintext, authenticated chunk by chunk. Throws CIPHERTEXT_ERROR naming the chunk on damage or truncation. */
  plaintext: AsyncGenerator<Uint8Array>;
}

function describeStanzas(stanzas: Stanza[]): string[] {
  return stanzas.map((s) => (s.type === 'ssh-ed25519' ? `ssh-ed25519 (tag ${s.args[0] ?? '?'})` : s.type));
}

function chunkError(counter: number, reason: string): CustodyError {
  const n = counter + 1;
  return new CustodyError('CIPHERTEXT_ERROR', `age payload: chunk ${n} (ciphertext bytes ${counter * SEALED_CHUNK}–${(counter + 1) * SEALED_CHUNK} after the header) ${reason}`, {
    member: `age chunk ${n}`,
  });
}

/**
 * Reads and authenticates the header (wrong key → NOT_RECIPIENT; a damaged
 * header or MAC → CIPHERTEXT_ERROR) before returning; the payload is then
 * decrypted as it is pulled.
 */
export async function decryptAge(source: AsyncIterable<Uint8Array>, identities: AgeIdentity[]): Promise<AgeDecryption> {
  const reader = new ByteReader(source[Symbol.asyncIterator]());
  const lines: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const line = await reader.line(MAX_HEADER_BYTES - size);
    if (line === null) throw headerError(size === 0 ? 'the file is empty' : 'the file ends inside the header');
    lines.push(line);
    size += line.length;
    if (line[0] === 0x2d && line[1] === 0x2d && line[2] === 0x2d) break; // "---"
    if (lines.length === 1 && line.length > 0 && line[0] !== 0x61) throw headerError('not an age file (no age-encryption.org/v1 line)');
  }
  const headerBytes = new Uint8Array(size);
  let o = 0;
  for (const l of lines) {
    headerBytes.set(l, o);
    o += l.length;
  }
  const header = parseHeader(headerBytes);
  let fileKey: Uint8Array | null = null;
  let openedWith = '';
  for (const id of identities) {
    fileKey = id.unwrap(header.stanzas);
    openedWith = id.label;
    if (fileKey) break;
  }
  if (!fileKey) {
    const labels = identities.map((i) => i.label).join(', ');
    throw new CustodyError('NOT_RECIPIENT', `not encrypted to ${labels}`, {
      hint: `the file is encrypted to: ${describeStanzas(header.stanzas).join(', ') || 'nobody'}; give the recipient's key with --key`,
    });
  }
  if (fileKey.length !== FILE_KEY_SIZE) throw headerError(`the file key is ${fileKey.length} bytes, not ${FILE_KEY_SIZE}`);
  if (!constantTimeEqual(headerMac(fileKey, header.macInput), header.mac)) {
    throw new CustodyError('CIPHERTEXT_ERROR', 'age header MAC does not verify: the header was changed', { member: 'age header' });
  }
  return { header: { recipients: describeStanzas(header.stanzas), headerBytes: size, openedWith }, plaintext: decryptPayload(reader.rest(), fileKey) };
}

async function* decryptPayload(rest: AsyncIterable<Uint8Array>, fileKey: Uint8Array): AsyncGenerator<Uint8Array> {
  const nonce = new Uint8Array(NONCE_SIZE);
  let nonceUsed = 0;
  const buf = new Uint8Array(SEALED_CHUNK);
  let used = 0;
  let counter = 0;
  let key: Uint8Array | undefined;
  // Plaintext goes to two buffers in turn (a yielded chunk is valid until the one after the next is requested).
  const outs = [new Uint8Array(CHUNK_SIZE), new Uint8Array(CHUNK_SIZE)];
  const chunkNonce = new Uint8Array(12);
  /** The plaintext of sealed chunk `counter` opened as final or not, or null if it does not authenticate so. */
  const openChunk = (sealed: Uint8Array, last: boolean): Uint8Array | null => {
    if (sealed.length < TAG_SIZE) return null;
    const out = outs[counter % 2]!.subarray(0, sealed.length - TAG_SIZE);
    return aead.openInto(key!, setChunkNonce(chunkNonce, counter, last), sealed, out) ? out : null;
  };
  for await (const piece of rest) {
    let off = 0;
    if (nonceUsed < NONCE_SIZE) {
      const n = Math.min(NONCE_SIZE - nonceUsed, piece.length);
      nonce.set(piece.subarray(0, n), nonceUsed);
      nonceUsed += n;
      off = n;
      if (nonceUsed < NONCE_SIZE) continue;
      key = payloadKey(fileKey, nonce);
    }
    while (off < piece.length) {
      // Whole sealed chunks with more data after them are opened straight from the input (no copy).
      while (used === 0 && piece.length - off > SEALED_CHUNK) {
        const pt = openChunk(piece.subarray(off, off + SEALED_CHUNK), false);
        if (!pt) {
          buf.set(piece.subarray(off, off + SEALED_CHUNK));
          used = SEALED_CHUNK;
          off += SEALED_CHUNK;
          break; // the buffered path below names the failure
        }
        yield pt;
        counter++;
        off += SEALED_CHUNK;
      }
      if (off >= piece.length) break;
      // A full sealed chunk is opened as non-final only once more data is known to follow it.
      if (used === SEALED_CHUNK) {
        const pt = openChunk(buf, false);
        if (!pt) {
          const final = openChunk(buf, true);
          if (final) {
            // It did authenticate, as the final chunk: release it as the reference implementation does, then refuse what follows.
            yield final;
            throw chunkError(counter, 'is the final chunk but data follows it');
          }
          throw chunkError(counter, 'does not authenticate: the file was changed');
        }
        yield pt;
        counter++;
        used = 0;
      }
      const n = Math.min(SEALED_CHUNK - used, piece.length - off);
      buf.set(piece.subarray(off, off + n), used);
      used += n;
      off += n;
    }
  }
  if (nonceUsed < NONCE_SIZE) throw headerError('the file ends before the payload nonce (truncated)');
  if (used === 0) {
    if (counter === 0) throw new CustodyError('CIPHERTEXT_ERROR', 'age payload: no chunks after the nonce (truncated)', { member: 'age payload' });
    throw chunkError(counter, 'is missing: the file is truncated after a full chunk');
  }
  const last = buf.subarray(0, used);
  const pt = openChunk(last, true);
  if (!pt) {
    const notFinal = used === SEALED_CHUNK ? openChunk(last, false) : null;
    if (notFinal) {
      yield notFinal;
      throw chunkError(counter + 1, 'is missing: the file is truncated (it ends on a chunk that is not the final one)');
    }
    throw chunkError(counter, 'does not authenticate: the file was changed or cut short');
  }
  if (pt.length === 0 && counter > 0) throw chunkError(counter, 'is an empty final chunk after a full one (not canonical)');
  yield pt;
}
