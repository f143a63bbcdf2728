/**
 * The body of `custody verify` (cli/commands/verify.ts registers the command
 * and starts the piece lanes before it loads this): the bundle input, trust,
 * the ledger, the verify use case and the verdict's rendering. Loaded on
 * demand, so that the payload is being hashed while these modules load.
 */
import { openBundleInput } from '../ops/bundle-input.js';
import { assertTrustFlags, verifyInput } from '../ops/verify.js';
import type { EarlyPieces } from '../bundle/payload-prefetch.js';
import { CustodyError } from '../core/errors.js';
import type { CliContext } from './context.js';
import { outcome, type Outcome } from './outcome.js';
import type { DecryptKeyFlags, TrustFlags } from './options.js';
import { progressFor } from './progress.js';
import { verdictJson, verdictText } from './render/verdict.js';
import { trustFor } from './trust-input.js';
import { ledgerFor } from './ledger-input.js';

export interface VerifyFlags extends TrustFlags, DecryptKeyFlags {
  ledger?: string;
  strict?: boolean;
  full?: boolean;
  media?: boolean;
  jobs?: string;
}

export async function runVerify(ctx: CliContext, bundle: string, o: VerifyFlags, jobs: number | undefined, early: EarlyPieces | undefined): Promise<Outcome> {
  assertTrustFlags(o);
  const input = await openBundleInput(bundle, { ageKeys: async () => (await import('./age-keys.js')).loadAgeIdentities(ctx, o) });
  if (o.media && (!o.full || bundle === '-' || bundle.endsWith('.age'))) {
    throw new CustodyError('USAGE', '--media needs --full and a plain bundle file (it reads the segments where they lie in the tar)');
  }
  const v = await verifyInput({
    input,
    ...(early ? { early } : {}),
    ...(jobs !== undefined ? { jobs } : {}),
    ...trustFor(ctx, o.trust),
    allowUntrusted: o.allowUntrusted === true,
    strictTrust: o.strictTrust === true,
    receipts: o.receipt,
    mode: o.full ? 'full' : 'pieces',
    ...(o.media ? { media: bundle } : {}),
    ledger: ledgerFor(ctx, o.ledger),
    strict: o.strict === true,
    progress: progressFor(ctx),
    label: 'verify',
    keepFiles: false,
  });
  const out = outcome({ verdict: verdictJson(v) }, verdictText(ctx, v, input.label));
  if (v.error) out.error = v.error;
  return out;
}
