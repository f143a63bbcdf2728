/**
 * The verify use case: a bundle input, the trusted keys, the receipts, and
 * the mode → the verdict (src/bundle/verify.ts does the checks). Used by
 * verify, extract, report and receive; it prints nothing.
 *
 * Mode full unless a caller asks for pieces (only custody verify without
 * --full does): a receipt, an extraction or a report attests the flat
 * hashes too.
 */
import { CustodyError } from '../core/errors.js';
import { HashEngine } from '../core/engine.js';
import { verifyBundle, type BundleSink, type BundleVerdict, type ReadMode } from '../bundle/verify.js';
import { journalDetail, readReceipts, type BundleInput } from './bundle-input.js';
import { noProgress, type Progress, type ProgressFactory } from './progress.js';

export interface TrustRequest {
  /** Trust store keys plus every --trust key (resolved by the caller). */
  trusted: Uint8Array[];
  allowUntrusted?: boolean;
  strictTrust?: boolean;
  /** Receipt files: records kept beside a read-only bundle, checked after the bundle's own. */
  receipts?: string[];
}

export interface VerifyRequest extends TrustRequest {
  input: BundleInput;
  mode?: ReadMode;
  sink?: BundleSink;
  progress?: ProgressFactory;
  /** The progress label (verify, extract, report, receive). */
  label?: string;
  now?: Date;
}

export function assertTrustFlags(o: { allowUntrusted?: boolean | undefined; strictTrust?: boolean | undefined }): void {
  if (o.allowUntrusted && o.strictTrust) throw new CustodyError('USAGE', '--allow-untrusted and --strict-trust contradict each other');
}

export async function verifyInput(req: VerifyRequest): Promise<BundleVerdict> {
  assertTrustFlags(req);
  const receipts = req.receipts ?? [];
  const engine = new HashEngine();
  let progress: Progress | undefined;
  try {
    const v = await verifyBundle(req.input.stream, {
      engine,
      label: req.input.label,
      mode: req.mode ?? 'full',
      trusted: req.trusted,
      strictTrust: req.strictTrust === true,
      allowUntrusted: req.allowUntrusted === true,
      ...(req.sink ? { sink: req.sink } : {}),
      ...(req.now ? { now: req.now } : {}),
      onProgress: (done, total) => {
        progress ??= (req.progress ?? noProgress)(req.label ?? 'verify', total);
        progress.update(done);
      },
      ...(receipts.length > 0 ? { extraRecords: (chainLength: number) => readReceipts(receipts, chainLength) } : {}),
    });
    const journal = journalDetail(req.input);
    if (journal !== undefined) v.checks.push({ id: 'bundle.journal', check: 'interrupted append', ok: true, detail: journal });
    return v;
  } finally {
    progress?.stop();
    await engine.close();
  }
}
