/** `custody extract`: verify while extracting; nothing is left at --into unless everything verified. */
import type { Command } from 'commander';
import { openBundleInput } from '../../ops/bundle-input.js';
import { checkExtractDestination, extractBundle } from '../../ops/extract.js';
import { assertTrustFlags } from '../../ops/verify.js';
import { action } from '../action.js';
import type { CliContext } from '../context.js';
import { outcome, type Outcome } from '../outcome.js';
import { addDecryptKeyOptions, collect, type DecryptKeyFlags, type TrustFlags } from '../options.js';
import { loadAgeIdentities } from '../age-keys.js';
import { progressFor } from '../progress.js';
import { verdictJson, verdictText } from '../render/verdict.js';
import { trustFor } from '../trust-input.js';
import { ledgerFor } from '../ledger-input.js';

interface ExtractOptions extends TrustFlags, DecryptKeyFlags {
  into: string;
}


const HELP = `
Extract makes every check of custody verify in the same single read, writing
the members into a hidden temporary folder beside --into. Only when the whole
bundle verified is that folder renamed to --into; on any failure it is removed
and nothing is left at --into. --into must not exist, or be an empty folder
(which is then replaced).

--into receives the bag itself: bagit.txt, bag-info.txt, data/<item>/…, the
manifests, custody/ (manifest.json, keys, records), VERIFY.txt and the
signatures, so the stock-tool steps of VERIFY.txt can be re-run there. File
times are restored from custody/manifest.json; empty folders are recreated.

Example:
  $ custody extract case-2026-041.tar --into case-2026-041 --trust examiner.pub`;

export function register(program: Command): void {
  addDecryptKeyOptions(program.command('extract'))
    .description('verify a bundle and extract it into a new folder, atomically')
    .argument('<bundle>', "the bundle .tar (or .tar.age, decrypted as it is verified), or '-' for stdin")
    .requiredOption('--into <dir>', 'the folder to create')
    .option('--trust <pubfile|fingerprint>', "trust this sealer: its .pub file, or its 64-hex fingerprint as read out to you (repeat)", collect, [])
    .option('--allow-untrusted', 'extract even if the sealer is not trusted (reported)')
    .option('--strict-trust', 'every record signer must be in the trust store')
    .option('--receipt <file>', 'a custody record kept beside a read-only bundle (repeat)', collect, [])
    .addHelpText('after', HELP)
    .action(action(extractCommand));
}

async function extractCommand(ctx: CliContext, bundle: string, o: ExtractOptions): Promise<Outcome> {
  assertTrustFlags(o);
  checkExtractDestination(o.into);
  const input = await openBundleInput(bundle, { ageKeys: () => loadAgeIdentities(ctx, o) });
  const r = await extractBundle({
    input,
    into: o.into,
    ...trustFor(ctx, o.trust),
    ledger: ledgerFor(ctx),
    allowUntrusted: o.allowUntrusted === true,
    strictTrust: o.strictTrust === true,
    receipts: o.receipt,
    progress: progressFor(ctx),
  });
  const text = verdictText(ctx, r.verdict, input.label);
  const out = outcome({ into: r.into, extracted: r.extracted, verdict: verdictJson(r.verdict) }, [
    ...text,
    r.extracted ? `extracted to ${r.into}` : `nothing extracted: ${r.into} was not created`,
  ]);
  if (r.verdict.error) out.error = r.verdict.error;
  return out;
}
