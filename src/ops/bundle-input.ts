/**
 * Where the bytes of a bundle come from for the use cases that read one
 * (verify, extract, report, receive): a file or stdin, and any receipts kept
 * beside a read-only bundle.
 *
 * Threat: reading must never write. A journal file beside a bundle is
 * inspected, never applied here: custody's own journal of an interrupted
 * append means "read the bundle as it was before it" (and the verdict says
 * what was not checked); anything else is ignored and reported.
 */
import fs from 'node:fs';
import { CustodyError } from '../core/errors.js';
import { isAgeFile } from '../bundle/age-sniff.js';
import { recycledFileChunks } from '../bundle/file-source.js';
import type { AgeIdentity } from '../custody/age/recipients.js';
import { bundleReadStream, inspectJournal, type JournalState } from '../bundle/tar-append.js';
import { openEnvelope } from '../custody/dsse.js';
import { recordMemberName } from '../custody/record.js';
import { parseStrictJson } from '../custody/strict-json.js';

/**
 * The age layer (its cipher, X25519 and scrypt code, a native binding) is
 * loaded only for a bundle that is encrypted: a plain bundle's verify does not
 * pay for it at start-up.
 */
const ageFiles = () => import('../bundle/age-files.js');

export interface BundleInput {
  label: string;
  stream: AsyncIterable<Uint8Array>;
  size?: number;
  /** Set when the bytes are a plain bundle file read as it is (no decryption, no journal applied): it can be read at any offset. */
  file?: string;
  /** Set for an age-encrypted bundle: how it was decrypted (a check of the verdict). */
  decryption?: string;
  /** A journal beside the bundle: custody's own (the bundle is read as it was before that append) or not (ignored). */
  journal?: Exclude<JournalState, { state: 'none' }>;
}

export interface OpenInputOptions {
  /** The identities that may open an age-encrypted bundle (asked for only when it is one). */
  ageKeys?: () => Promise<AgeIdentity[]>;
  stdin?: AsyncIterable<Uint8Array>;
}

/**
 * A bundle path, or '-' for stdin; an age-encrypted bundle (.tar.age, or age on
 * stdin) is decrypted as it is read, authenticated chunk by chunk, with no
 * plaintext written anywhere.
 */
export async function openBundleInput(ref: string, o: OpenInputOptions = {}): Promise<BundleInput> {
  if (ref === '-') {
    const age = await ageFiles();
    const s = await age.sniffAge(o.stdin ?? process.stdin);
    if (!s.isAge) return { label: 'stdin', stream: s.stream };
    if (!o.ageKeys) throw new CustodyError('USAGE', 'stdin is encrypted (age) and this command cannot decrypt it');
    return age.openAgeStream('stdin', s.stream, await o.ageKeys());
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(ref);
  } catch {
    throw new CustodyError('NOT_FOUND', `no such bundle: ${ref}`);
  }
  if (!st.isFile()) throw new CustodyError('USAGE', `${ref} is not a file`);
  if (await isAgeFile(ref)) {
    if (!o.ageKeys) throw new CustodyError('USAGE', `${ref} is encrypted (age) and this command cannot decrypt it`);
    return (await ageFiles()).openAgeSource(ref, await o.ageKeys());
  }
  const journal = await inspectJournal(ref);
  if (journal.state === 'pending') return { label: ref, stream: bundleReadStream(ref, undefined, journal), size: st.size, journal };
  return { label: ref, stream: recycledFileChunks(ref), size: st.size, file: ref, ...(journal.state === 'foreign' ? { journal } : {}) };
}

/** What the verdict says about a journal beside the bundle (the check `bundle.journal`), if there is one. */
export function journalDetail(input: BundleInput): string | undefined {
  const j = input.journal;
  if (j?.state === 'pending') {
    // The bytes past the old end were not checked, and tar -xf would still see them: say so in every verdict.
    return `${j.journal} records an interrupted append: verified the bundle as it was before it; the bytes after offset ${j.endOfData} were NOT checked. custody transfer or receive repairs it where the bundle is writable`;
  }
  if (j?.state === 'foreign') return `${j.journal} ignored, not applied: ${j.why}`;
  return undefined;
}

/**
 * Receipts (records kept beside a bundle that cannot be appended to) are
 * named as the next chain members would be. The action is peeked from the
 * unverified payload only to build that name; checkChain verifies everything.
 */
export function readReceipts(files: string[], chainLength: number): { member: string; bytes: Uint8Array }[] {
  return files.map((f, i) => {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(fs.readFileSync(f));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new CustodyError(code === 'ENOENT' ? 'NOT_FOUND' : 'IO_ERROR', `cannot read receipt ${f}: ${(e as Error).message}`);
    }
    let act: 'seal' | 'transfer' | 'receive' = 'receive';
    try {
      const p = parseStrictJson(openEnvelope(bytes).payload) as { predicate?: { action?: unknown } };
      if (p.predicate?.action === 'transfer') act = 'transfer';
    } catch {
      /* checkChain reports it */
    }
    return { member: recordMemberName(chainLength + i, act), bytes };
  });
}
