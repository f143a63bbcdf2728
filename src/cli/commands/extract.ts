/** `custody extract`: verify while extracting; nothing is left at --into unless everything verified. */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CustodyError } from '../../core/errors.js';
import { tempNameBeside } from '../../bundle/atomic-output.js';
import { directorySink, finishExtraction } from '../../bundle/extract.js';
import { action } from '../action.js';
import type { CliContext } from '../context.js';
import { outcome, type Outcome } from '../outcome.js';
import { loadAgeIdentities } from '../age-keys.js';
import { addDecryptKeyOptions } from '../options.js';
import { checkTrustFlags, openBundleSource, runVerify, verdictJson, verdictText, type TrustOptions } from './verify.js';
import { collect } from '../options.js';

interface ExtractOptions extends TrustOptions {
  into: string;
  key?: string;
  passphraseFile?: string;
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
  addDecryptKeyOptions(program
    .command('extract'))
    .description('verify a bundle and extract it into a new folder, atomically')
    .argument('<bundle>', "the bundle .tar (or .tar.age, decrypted as it is verified), or '-' for stdin")
    .requiredOption('--into <dir>', 'the folder to create')
    .option('--trust <pubfile>', 'also trust this key (repeat)', collect, [])
    .option('--allow-untrusted', 'extract even if the sealer is not trusted (reported)')
    .option('--strict-trust', 'every record signer must be in the trust store')
    .option('--receipt <file>', 'a custody record kept beside a read-only bundle (repeat)', collect, [])
    .addHelpText('after', HELP)
    .action(action(extractCommand));
}

function assertFreeDestination(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch {
    return;
  }
  if (!st.isDirectory() || fs.readdirSync(dir).length > 0) {
    throw new CustodyError('EXISTS', `${dir} already exists`, { hint: 'choose a new folder for --into (or an empty one)' });
  }
}

async function extractCommand(ctx: CliContext, bundle: string, o: ExtractOptions): Promise<Outcome> {
  checkTrustFlags(o);
  const dest = path.resolve(o.into);
  assertFreeDestination(dest);
  if (!fs.existsSync(path.dirname(dest))) throw new CustodyError('NOT_FOUND', `the parent folder of ${o.into} does not exist`);
  const src = await openBundleSource(bundle, () => loadAgeIdentities(ctx, o));
  const tmp = tempNameBeside(dest, 'custody-tmp');
  fs.mkdirSync(tmp, { mode: 0o700 });
  let placed = false;
  try {
    const v = await runVerify(ctx, src, o, directorySink(tmp), 'extract');
    const data = { into: dest, extracted: false, verdict: verdictJson(v) };
    const text = verdictText(ctx, v, src.label);
    if (v.error || !v.manifest) {
      const out = outcome(data, [...text, `nothing extracted: ${dest} was not created`]);
      out.error = v.error ?? new CustodyError('INTERNAL', 'verified without a manifest');
      return out;
    }
    await finishExtraction(tmp, v.manifest);
    assertFreeDestination(dest); // again: something may have appeared there meanwhile
    try {
      fs.renameSync(tmp, dest);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') throw new CustodyError('EXISTS', `${dest} appeared while extracting; nothing was written there`);
      throw e;
    }
    placed = true;
    return outcome({ ...data, extracted: true }, [...text, `extracted to ${dest}`]);
  } finally {
    if (!placed) fs.rmSync(tmp, { recursive: true, force: true });
  }
}
