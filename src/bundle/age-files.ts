/**
 * Bundles in transit, encrypted to their recipient in the age v1 format
 * (DESIGN §3 "In transit"): write an encrypted copy of a bundle file, and open
 * an encrypted bundle as a plaintext stream for verify, extract, receive,
 * report and log.
 *
 * Threats guarded against: plaintext evidence left on disk by the
 * encryption layer (decryption feeds the verifier chunk by chunk, nothing is
 * written to a temporary file); a half-written .age taken for a complete one
 * (written under a temporary name and renamed only when complete; an
 * interrupted run leaves nothing at the final path); a truncated or changed
 * .age (the decryptor refuses it, naming the header or chunk).
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { CustodyError, fromSystemError } from '../core/errors.js';
import { AGE_MAGIC } from './age-sniff.js';
import type { AgeIdentity, AgeRecipient } from '../custody/age/recipients.js';
import { aead } from '../custody/age/primitives.js';
import { beginAge, CHUNK_SIZE, decryptAge, encryptAge, sealedPayloadSize } from '../custody/age/stream.js';
import { writeRun } from './age-seal-lane.js';
import { sealOnLanes } from './age-seal-pool.js';
import { writeFileAtomically } from './atomic-output.js';
import { readAheadFdChunks, readAheadFileChunks } from './file-source.js';

const MAGIC = AGE_MAGIC;

export { isAgeFile } from './age-sniff.js';

/**
 * On the node:crypto fallback (custody/age/primitives.ts) every decrypted
 * 64 KiB chunk passes through a fresh buffer, and V8 collects such buffers
 * only once 64 MB of them are garbage: a 1 GiB verify of an encrypted bundle
 * peaked at ~180 MB against 115 MB for the plain bundle. A young-generation
 * collection (a few milliseconds) every 8 MiB frees them as they go (135 MB;
 * every 16 MiB: 144 MB). libsodium opens into reused buffers and makes no such
 * garbage, so nothing is collected then. `gc` comes from turning V8's
 * --expose-gc flag on at run time and taking it from a context made
 * afterwards (V8 installs it only in new contexts); if that fails, nothing is
 * collected early and only the memory peak is higher.
 */
const COLLECT_EVERY = 8 << 20;
let minorGc: (() => void) | null | undefined;
function collectYoungGarbage(): void {
  if (minorGc === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      const gc = vm.runInNewContext('gc') as (o: { type: 'minor' }) => void;
      minorGc = () => gc({ type: 'minor' });
    } catch {
      minorGc = null;
    }
  }
  minorGc?.();
}

function collectingGarbage(stream: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  return aead.name === 'libsodium' ? stream : collectingEvery8MiB(stream);
}

async function* collectingEvery8MiB(stream: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let since = 0;
  for await (const c of stream) {
    yield c;
    since += c.length;
    if (since >= COLLECT_EVERY) {
      since = 0;
      collectYoungGarbage();
    }
  }
}

/**
 * Looks at the start of a stream (stdin) without losing it: whether it is an
 * age file, and the same bytes again from the beginning.
 */
export async function sniffAge(source: AsyncIterable<Uint8Array>): Promise<{ isAge: boolean; stream: AsyncIterable<Uint8Array> }> {
  const it = source[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let have = 0;
  let done = false;
  while (have < MAGIC.length) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    // Copied: a stream may reuse its buffers.
    head.push(new Uint8Array(r.value));
    have += r.value.length;
  }
  const first = new Uint8Array(have);
  let o = 0;
  for (const h of head) {
    first.set(h, o);
    o += h.length;
  }
  const isAge = have >= MAGIC.length && MAGIC.every((b, i) => first[i] === b);
  async function* again(): AsyncGenerator<Uint8Array> {
    if (first.length > 0) yield first;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { isAge, stream: again() };
}

/** Opens an age stream (stdin) with `identities`, as openAgeSource does a file. */
export async function openAgeStream(label: string, stream: AsyncIterable<Uint8Array>, identities: AgeIdentity[]): Promise<AgeSource> {
  const d = await decryptAge(stream, identities);
  return {
    label,
    stream: collectingGarbage(d.plaintext),
    recipients: d.header.recipients,
    decryption: `age-encrypted to ${d.header.recipients.join(', ')}; opened with ${d.header.openedWith}; header MAC and every chunk authenticated (nothing decrypted was written to disk)`,
  };
}

export interface AgeSource {
  label: string;
  /** The decrypted bundle, authenticated chunk by chunk. */
  stream: AsyncIterable<Uint8Array>;
  /** The plaintext size, computed from the file size (for progress). */
  size?: number;
  /** Who the file is encrypted to (stanza types and ssh tags). */
  recipients: string[];
  /** Said in the verdict: how the bundle was decrypted. */
  decryption: string;
}

/** Plaintext size of an age payload of `payloadBytes` (nonce excluded), or undefined if impossible. */
function plaintextSize(payloadBytes: number): number | undefined {
  const sealed = CHUNK_SIZE + 16;
  const full = Math.floor(payloadBytes / sealed);
  const rest = payloadBytes % sealed;
  if (rest === 0 && full === 0) return undefined;
  if (rest > 0 && rest < 16) return undefined;
  return payloadBytes - 16 * (full + (rest > 0 ? 1 : 0));
}

/**
 * Opens an age-encrypted bundle with `identities`: the header is read and
 * authenticated now (NOT_RECIPIENT for a wrong key, CIPHERTEXT_ERROR for a
 * damaged header); the payload is decrypted as the stream is pulled.
 */
export async function openAgeSource(file: string, identities: AgeIdentity[]): Promise<AgeSource> {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw fromSystemError(e, file);
  }
  const d = await decryptAge(readAheadFileChunks(file), identities);
  const size = plaintextSize(st.size - d.header.headerBytes - 16);
  return { label: file, stream: collectingGarbage(d.plaintext), ...(size === undefined ? {} : { size }), recipients: d.header.recipients,
    decryption: `age-encrypted to ${d.header.recipients.join(', ')}; opened with ${d.header.openedWith}; header MAC and every chunk authenticated (nothing decrypted was written to disk)`,
  };
}

function writeError(e: unknown, what: string): CustodyError {
  const code = (e as NodeJS.ErrnoException).code;
  return new CustodyError('IO_ERROR', `cannot write ${what}: ${code === 'ENOSPC' ? 'disk full' : (e as Error).message}`, { cause: e });
}

/** Writes all of `c` at the file position, on libuv's thread pool. */
async function writeFully(fd: number, c: Uint8Array, what: string): Promise<void> {
  try {
    for (let off = 0; off < c.length; ) {
      off += await new Promise<number>((resolve, reject) => fs.write(fd, c, off, c.length - off, null, (e, n) => (e ? reject(e) : resolve(n))));
    }
  } catch (e) {
    throw writeError(e, what);
  }
}

/**
 * Writes every chunk of `stream` to `fd`. A chunk is written on the thread
 * pool while the stream makes the next one (the cipher and the kernel's copy
 * into the page cache run on two cores), and that write has finished before
 * the stream is asked for the chunk after: what a stream that uses two
 * buffers in turn needs (encryptAge yields segments of ~1 MiB so).
 */
async function writeAll(fd: number, stream: AsyncIterable<Uint8Array>, what: string): Promise<number> {
  let total = 0;
  let pending: Promise<void> | undefined;
  try {
    for await (const c of stream) {
      await pending;
      pending = writeFully(fd, c, what);
      pending.catch(() => {}); // awaited before the next chunk or below; an early rejection is not unhandled
      total += c.length;
    }
    await pending;
  } finally {
    await pending?.catch(() => {}); // never leave a write in flight on a descriptor the caller closes
  }
  return total;
}

/** Writes all of `c` at `position`, synchronously (the header, before the lanes write after it). */
function writeAt(fd: number, c: Uint8Array, position: number, what: string): void {
  try {
    writeRun(fd, c, c.length, position);
  } catch (e) {
    throw writeError(e, what);
  }
}

/**
 * Encrypts the file at `input` to `recipients`, written atomically to `out`
 * (never replacing a file unless `force`). A regular file is sealed on every
 * core (age-seal-pool.ts: `jobs` lanes, default one per core); anything else
 * (a pipe) in order on this thread. Not fsynced: it is a copy for transit of a
 * bundle that stays where it is, and age authenticates every chunk and the
 * end, so a copy damaged by a power cut is refused by whoever opens it, never
 * taken for good. (The fsync of 1 GiB cost 3–6 s here, more than the encryption.)
 */
export async function encryptFileTo(input: string, recipients: AgeRecipient[], out: string, force = false, opts: { jobs?: number } = {}): Promise<{ out: string; bytes: number }> {
  if (recipients.length === 0) throw new CustodyError('USAGE', 'no recipient to encrypt to');
  let inFd: number;
  let before: fs.Stats;
  try {
    inFd = fs.openSync(input, 'r');
  } catch (e) {
    throw fromSystemError(e, input);
  }
  try {
    before = fs.fstatSync(inFd);
    if (!before.isFile()) {
      // A pipe or a device: read in order from the descriptor already open, not the path opened a second time.
      const bytes = await writeFileAtomically(out, force, (fd) => writeAll(fd, encryptAge(readAheadFdChunks(inFd, input), recipients), out), { fsync: false });
      return { out, bytes };
    }
    const size = before.size;
    const { head, key } = beginAge(recipients);
    const bytes = await writeFileAtomically(
      out,
      force,
      async (fd) => {
        writeAt(fd, head, 0, out);
        await sealOnLanes({ inFd, outFd: fd, size, key, payloadAt: head.length, input, output: out, ...(opts.jobs === undefined ? {} : { lanes: opts.jobs }) });
        const after = fs.fstatSync(inFd);
        if (after.size !== size || after.mtimeMs !== before.mtimeMs) {
          throw new CustodyError('IO_ERROR', `${input} changed while it was encrypted (${size} bytes before, ${after.size} after); nothing was written`);
        }
        return head.length + sealedPayloadSize(size);
      },
      { fsync: false },
    );
    return { out, bytes };
  } catch (e) {
    throw e instanceof CustodyError ? e : fromSystemError(e, input);
  } finally {
    fs.closeSync(inFd);
  }
}
