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
  renameUnportable?: boolean;
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
times are restored from custody/manifest.json; empty folders are recreated;
a name that was not valid UTF-8 (sealed escaped) gets its original bytes back.

Names are the evidence's own. Where the file system of --into cannot hold one
(it folds README.txt and Readme.txt into one file, or NFC and NFD spellings;
it refuses names Windows refuses, such as CON, a:b or trailing.; it holds only
UTF-8 names), extract refuses before writing anything, naming both members.
--rename-unportable writes those members under safe names instead (a refused
character or trailing dot becomes _, CON becomes CON_, the second of a
colliding pair becomes "Readme (2).txt", a name that is not UTF-8 keeps its
escaped form) and lists every rename in CUSTODY-RENAMED.json inside --into:
the sealed path, the original name bytes where they differ, the name written
and why. Nothing is renamed without that flag, and nothing without a line there.

Example:
  $ custody extract case-2026-041.tar --into case-2026-041 --trust examiner.pub
  $ custody extract case-2026-041.tar --into /media/usb-exfat/case-2026-041 --trust examiner.pub --rename-unportable`;

export function register(program: Command): void {
  addDecryptKeyOptions(program.command('extract'))
    .description('verify a bundle and extract it into a new folder, atomically')
    .argument('<bundle>', "the bundle .tar (or .tar.age, decrypted as it is verified), or '-' for stdin")
    .requiredOption('--into <dir>', 'the folder to create')
    .option('--trust <pubfile|fingerprint>', "trust this sealer: its .pub file, or its 64-hex fingerprint as read out to you (repeat)", collect, [])
    .option('--allow-untrusted', 'extract even if the sealer is not trusted (reported)')
    .option('--strict-trust', 'every record signer must be in the trust store')
    .option('--receipt <file>', 'a custody record kept beside a read-only bundle (repeat)', collect, [])
    .option('--rename-unportable', 'write names the target cannot hold under safe names, listed in CUSTODY-RENAMED.json (default: refuse)')
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
    renameUnportable: o.renameUnportable === true,
  });
  const text = verdictText(ctx, r.verdict, input.label);
  const n = r.renamed.length;
  const out = outcome({ into: r.into, extracted: r.extracted, verdict: verdictJson(r.verdict), renamed: n, renameMapping: r.mapping ?? null }, [
    ...text,
    r.extracted ? `extracted to ${r.into}` : `nothing extracted: ${r.into} was not created`,
    ...(r.mapping === undefined ? [] : [`renamed ${n} member${n === 1 ? '' : 's'} its file system cannot hold as sealed; the mapping is in ${r.mapping}`]),
  ]);
  if (r.verdict.error) out.error = r.verdict.error;
  return out;
}
