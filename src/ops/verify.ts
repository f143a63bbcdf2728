/**
 * The verify use case: a bundle input, the trusted keys, the receipts, and
 * the mode → the verdict (src/bundle/verify.ts does the checks). Used by
 * verify, extract, report and receive; it prints nothing.
 *
 * Mode full unless a caller asks for pieces (only custody verify without
 * --full does): a receipt, an extraction or a report attests the flat
 * hashes too.
 */
import { CustodyError, VERIFICATION_CODES } from '../core/errors.js';
import { HashEngine } from '../core/engine.js';
import { defaultJobs, PiecePool } from '../core/piece-pool.js';
import { SeekableFile } from '../bundle/seekable-file.js';
import type { EarlyPieces } from '../bundle/payload-prefetch.js';
import { withSmallDigests } from '../core/small-hasher.js';
import type { CheckedRecords } from '../custody/chain.js';
import { verifyBundle, type BundleSink, type BundleVerdict, type ReadMode } from '../bundle/verify.js';
import { journalDetail, readReceipts, type BundleInput } from './bundle-input.js';
import type { LedgerAccess } from './ledger-access.js';
import { compareWithLedger } from './ledger-compare.js';
import { noProgress, type Progress, type ProgressFactory } from './progress.js';
import { mark } from '../core/timeline.js';

export interface TrustRequest {
  /** Trust store keys plus every --trust key (resolved by the caller). */
  trusted: Uint8Array[];
  /** --trust fingerprints as read out (64 lowercase hex). */
  trustedFingerprints?: string[];
  /** The verifier's own keys (trusted for their own bundles). */
  ownKeys?: Uint8Array[];
  allowUntrusted?: boolean;
  strictTrust?: boolean;
  /** Receipt files: records kept beside a read-only bundle, checked after the bundle's own. */
  receipts?: string[];
  /** A ledger to compare the chain with (stale copies and forks). */
  ledger?: LedgerAccess | undefined;
}

export interface VerifyRequest extends TrustRequest {
  input: BundleInput;
  mode?: ReadMode;
  sink?: BundleSink;
  progress?: ProgressFactory;
  /** The progress label (verify, extract, report, receive). */
  label?: string;
  now?: Date;
  /** The bundle file, to also recompute the media hashes of disk-image items (E01, split raw) from their sealed segments. */
  media?: string;
  /** A stale copy does not verify (it only says so otherwise). */
  strict?: boolean;
  /** A fork is reported but accepted (the re-send of a copy lost in transit). */
  allowFork?: boolean;
  /** Hash workers (default: one per core, see defaultJobs). */
  jobs?: number;
  /** Keep custody/manifest.json's files in the verdict (default true: report and receive use them; verify does not; extract keeps only their times, 'times'). */
  keepFiles?: boolean | 'times';
  /** Records already checked from the bundle's headers (receive): not checked again if they are the ones read. */
  checkedRecords?: CheckedRecords;
  /**
   * The bundle file opened and its piece lanes started before this ran (custody
   * verify does, while the program loads): used for pieces mode on that same
   * path, closed in any case.
   */
  early?: EarlyPieces;
}

export function assertTrustFlags(o: { allowUntrusted?: boolean | undefined; strictTrust?: boolean | undefined }): void {
  if (o.allowUntrusted && o.strictTrust) throw new CustodyError('USAGE', '--allow-untrusted and --strict-trust contradict each other');
}

export async function verifyInput(req: VerifyRequest): Promise<BundleVerdict> {
  try {
    return await verifyOpened(req);
  } finally {
    await req.early?.close();
  }
}

async function verifyOpened(req: VerifyRequest): Promise<BundleVerdict> {
  assertTrustFlags(req);
  const receipts = req.receipts ?? [];
  if (req.jobs !== undefined && (!Number.isSafeInteger(req.jobs) || req.jobs < 1)) throw new CustodyError('USAGE', `--jobs must be a whole number of workers, 1 or more (got ${req.jobs})`);
  const jobs = req.jobs ?? defaultJobs();
  const engine = new HashEngine({ workers: jobs });
  // Pieces mode on a plain file: every worker reads and hashes its own pieces (positioned reads); a stream goes through the engine's ring.
  const positioned = req.mode === 'pieces' && !req.sink && req.input.file !== undefined;
  const early = positioned && req.early !== undefined && req.early.path === req.input.file && req.early.workerCount === jobs ? req.early : undefined;
  const file = early ? undefined : positioned ? await SeekableFile.open(req.input.file!) : undefined;
  const pool = early ?? (file ? new PiecePool({ fd: file.fd, workers: jobs, label: req.input.label }) : undefined);
  const reader = early?.file ?? file;
  // The pool starts its workers at the first member large enough to need them (small ones are hashed on this thread).
  let progress: Progress | undefined;
  try {
    const v = await verifyBundle(reader ? reader.chunks() : req.input.stream, {
      engine: withSmallDigests(engine),
      keepFiles: req.keepFiles === 'times' ? 'times' : req.keepFiles !== false,
      ...(reader && pool ? { seekable: { hasher: pool, skip: (n: number) => reader.skip(n) } } : {}),
      label: req.input.label,
      mode: req.mode ?? 'full',
      trusted: req.trusted,
      ...(req.trustedFingerprints ? { trustedFingerprints: req.trustedFingerprints } : {}),
      ...(req.ownKeys ? { ownKeys: req.ownKeys } : {}),
      strictTrust: req.strictTrust === true,
      allowUntrusted: req.allowUntrusted === true,
      ...(req.sink ? { sink: req.sink } : {}),
      ...(req.now ? { now: req.now } : {}),
      ...(req.checkedRecords ? { checkedRecords: req.checkedRecords } : {}),
      onProgress: (done, total) => {
        progress ??= (req.progress ?? noProgress)(req.label ?? 'verify', total);
        progress.update(done);
      },
      ...(receipts.length > 0 ? { extraRecords: (chainLength: number) => readReceipts(receipts, chainLength) } : {}),
    });
    mark('ops: verifyBundle returned');
    if (req.input.decryption !== undefined && v.ok) v.checks.unshift({ id: 'bundle.decryption', check: 'decryption', ok: true, detail: req.input.decryption });
    const journal = journalDetail(req.input);
    if (journal !== undefined) v.checks.push({ id: 'bundle.journal', check: 'interrupted append', ok: true, detail: journal });
    if (req.media !== undefined && v.ok && v.manifest) await checkMedia(req.media, v, engine);
    if (req.ledger) await checkAgainstLedger(v, req);
    mark('ops: ledger compared');
    return v;
  } finally {
    progress?.stop();
    await pool?.close();
    await file?.close();
    await engine.close();
  }
}

/** media: each disk-image item's media hashes recomputed from its segments where they lie in the bundle. */
async function checkMedia(bundle: string, v: BundleVerdict, engine: HashEngine): Promise<void> {
  try {
    const { verifyMedia } = await import('../bundle/media-verify.js'); // the EWF readers, loaded only for --media
    const checks = await verifyMedia(bundle, v.manifest!, engine);
    v.checks.push(...checks);
    const bad = checks.find((k) => !k.ok);
    if (bad) {
      v.ok = false;
      v.error = new CustodyError('HASH_MISMATCH', `${bad.check}: ${bad.detail}`);
      v.failed = 'media';
    }
  } catch (e) {
    if (!(e instanceof CustodyError) || !(VERIFICATION_CODES as readonly string[]).includes(e.code)) throw e;
    v.checks.push({ id: 'media', check: 'media', ok: false, detail: e.message });
    v.ok = false;
    v.error = e;
    v.failed = 'media';
  }
}

/** chain.ledger: the chain against every record a ledger holds for this bundle digest (stale copy, fork). */
async function checkAgainstLedger(v: BundleVerdict, req: VerifyRequest): Promise<void> {
  if (!v.chain || !v.bundleDigest || !v.bagName || !v.sealerKey) return;
  const c = await compareWithLedger(req.ledger, { bundleName: v.bagName, bundleDigest: v.bundleDigest, sealerPublicKey: v.sealerKey, chain: v.chain });
  v.ledger = c;
  const check = 'custody chain against the ledger';
  const fails = (c.state === 'fork' && !req.allowFork) || (c.state === 'stale' && req.strict === true);
  const detail = c.state === 'fork' && req.allowFork ? `${c.detail} (accepted with --allow-fork)` : c.state === 'stale' && !req.strict ? `${c.detail}; this copy verifies on its own (--strict refuses a stale copy)` : c.detail;
  v.checks.push({ id: 'chain.ledger', check, ok: !fails, detail: c.problem ? `${detail}; ${c.problem}` : detail });
  if (fails && v.error === undefined) {
    v.ok = false;
    v.error = new CustodyError('CHAIN_ERROR', c.detail, {
      hint: c.state === 'fork' ? 'find out which copy is the one in custody; the other must not be used' : 'get the current copy from its custodian',
    });
    v.failed = 'chain.ledger';
  }
}
