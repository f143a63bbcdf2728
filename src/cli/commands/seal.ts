/** `custody seal`: items → one signed BagIt-in-tar bundle (DESIGN §2 Bundles, §3). */
import type { Command } from 'commander';
import { DEFAULT_ALGOS, parseAlgoList, parseSize } from '../../core/algorithms.js';
import { assertCaseId } from '../../core/case-id.js';
import { CustodyError } from '../../core/errors.js';
import { checkText, escapeText } from '../../core/text.js';
import { groupedFingerprint } from '../../custody/ed25519.js';
import { MIN_PIECE_SIZE } from '../../bundle/bag-info.js';
import type { ItemRequest } from '../../bundle/collect-items.js';
import { checkSealOutput, seal } from '../../ops/seal.js';
import type { ManifestImage } from '../../bundle/custody-manifest.js';
import { acquisitionJson } from '../../core/ewf/describe.js';
import { action } from '../action.js';
import { ledgerAt } from '../ledger-input.js';
import type { CliContext } from '../context.js';
import { loadSigner } from '../keys.js';
import { outcome, type Outcome } from '../outcome.js';
import { humanBytes, progressFor } from '../progress.js';
import { collect } from '../options.js';
import { jobsHelp, parseJobs } from '../jobs.js';

interface SealOptions {
  out: string;
  case: string;
  item: string[];
  description: string[];
  authority?: string;
  location?: string;
  note?: string;
  meta: string[];
  piece: string;
  algo?: string;
  key?: string;
  passphraseFile?: string;
  force?: boolean;
  split?: boolean;
  jobs?: string;
}


const HELP = `
Each path is one evidence item: a file, or a directory with all its files
(symlinks, devices and FIFOs inside are refused; empty folders are kept in
custody/manifest.json and recreated by extract). Item ids default to the file
name; --item and --description apply to the paths in order. --meta key=value
applies to every item, --meta <item>:key=value to one (make, model, serial,
acquisition tool, …). sha256 is always computed (the tagmanifest and the
stock-tool route rely on it).

A disk image is one item holding its segment files as they are: an EWF image
(image.E01, with image.E02 … found beside it) is recognised; a split raw image
is sealed with --split and its first segment (image.001 or image.aa). The
media they hold is hashed too and recorded in custody/manifest.json, with, for
EWF, the MD5/SHA-1 stored in the image (and whether they match) and its
acquisition metadata (case and evidence number, examiner, dates, tool).

The bundle is written to a temporary name beside --out and renamed at the end;
an existing --out is replaced only with --force. Prints the bundle digest
(SHA-256 of tagmanifest-sha256.txt), which names the bundle in every custody
record and in the ledger.

Example:
  $ custody seal disk01.dd phone-export/ --case 2026-041 --out case-2026-041.tar \\
      --item disk01 --item phone --description "Laptop SSD image" --meta serial=S4EVNX0N
  $ custody seal laptop.E01 --case 2026-041 --out laptop.tar
  $ custody seal --split usb.001 --case 2026-041 --out usb.tar`;

export function register(program: Command): void {
  program
    .command('seal')
    .description('seal evidence items into a signed, self-verifying bundle (BagIt in tar)')
    .argument('<paths...>', 'files or directories, one item each')
    .requiredOption('--out <bundle.tar>', 'the bundle to write')
    .requiredOption('--case <id>', 'the case id')
    .option('--item <id>', 'item id for the next path (repeat)', collect, [])
    .option('--description <text>', 'description of the next item (repeat)', collect, [])
    .option('--authority <text>', 'the legal authority for the seizure')
    .option('--location <text>', 'where the sealing takes place')
    .option('--note <text>', 'a note in the seal record')
    .option('--meta <key=value>', 'item metadata (repeat); <item>:key=value for one item', collect, [])
    .option('--piece <size>', 'piece size for piece SHA-256s and Merkle roots (0 = none)', '64MiB')
    .option('--algo <list>', `hash algorithms (default ${DEFAULT_ALGOS.join(',')}; sha256 always added)`)
    .option('--key <file>', 'signing key (default: env CUSTODY_KEY, or the only key in <home>/keys)')
    .option('--passphrase-file <file>', 'read the key passphrase from this file')
    .option('--force', 'replace an existing --out')
    .option('--jobs <n>', jobsHelp('many small files are spread over them, one large file uses one per algorithm'))
    .option('--split', 'each path is the first segment of a split raw image (image.001, image.aa): one item of all its segments')
    .addHelpText('after', HELP)
    .action(action(sealCommand));
}

function checkOptional(v: string | undefined, what: string): string | undefined {
  return v === undefined ? undefined : checkText(v, what, 'USAGE', { multiline: true });
}

function itemRequests(paths: string[], o: SealOptions): ItemRequest[] {
  if (o.item.length > paths.length) throw new CustodyError('USAGE', `${o.item.length} --item ids for ${paths.length} path(s)`);
  if (o.description.length > paths.length) throw new CustodyError('USAGE', `${o.description.length} --description texts for ${paths.length} path(s)`);
  const reqs: ItemRequest[] = paths.map((p, i) => {
    const r: ItemRequest = { path: p, meta: {} };
    if (o.split) r.split = true;
    if (o.item[i] !== undefined) r.id = o.item[i];
    const d = checkOptional(o.description[i], '--description');
    if (d !== undefined) r.description = d;
    return r;
  });
  for (const m of o.meta) {
    const match = /^(?:([A-Za-z0-9][A-Za-z0-9._-]*):)?([A-Za-z][A-Za-z0-9_.-]{0,63})=(.*)$/s.exec(m);
    if (!match) throw new CustodyError('USAGE', `--meta ${JSON.stringify(m)} is not key=value or <item>:key=value`);
    const [, item, key, value] = match as unknown as [string, string | undefined, string, string];
    checkOptional(value, `--meta ${key}`);
    const targets = item === undefined ? reqs : reqs.filter((r, i) => (r.id ?? o.item[i]) === item);
    if (targets.length === 0) throw new CustodyError('USAGE', `--meta ${m}: no item with id ${item} (give it with --item)`);
    for (const t of targets) t.meta[key] = value;
  }
  return reqs;
}

/** One line for the media of an image item, one per stored hash. */
function imageLines(id: string, im: ManifestImage): string[] {
  const h = im.media.hashes;
  const lines = [`  media ${id}: ${im.format === 'ewf' ? 'EWF' : 'split raw'}, ${im.segments.length} segments, ${im.media.size} bytes, md5 ${h.md5 ?? '-'}, sha256 ${h.sha256}`];
  for (const [k, name] of [['md5', 'MD5'], ['sha1', 'SHA-1']] as const) {
    const m = im.matches?.[k];
    if (im.stored?.[k]) lines.push(`    stored ${name} ${m === true ? 'matches' : m === false ? `DOES NOT MATCH (the image says ${im.stored[k]})` : 'not checked'}`);
  }
  return lines;
}

export async function sealCommand(ctx: CliContext, paths: string[], o: SealOptions): Promise<Outcome> {
  assertCaseId(o.case);
  const jobs = parseJobs(o.jobs);
  const algorithms = o.algo === undefined ? [...DEFAULT_ALGOS] : parseAlgoList(o.algo);
  if (!algorithms.includes('sha256')) algorithms.push('sha256');
  const pieceSize = parseSize(o.piece);
  if (pieceSize !== 0 && pieceSize < MIN_PIECE_SIZE) {
    throw new CustodyError('USAGE', `--piece ${o.piece} is below the minimum of ${MIN_PIECE_SIZE} bytes`, { hint: '--piece 0 turns pieces off' });
  }
  const authority = checkOptional(o.authority, '--authority');
  const location = checkOptional(o.location, '--location');
  const note = checkOptional(o.note, '--note');
  checkSealOutput(o.out, o.force === true);
  const requests = itemRequests(paths, o);
  const signer = () => loadSigner(ctx, { ...(o.key === undefined ? {} : { key: o.key }), ...(o.passphraseFile === undefined ? {} : { passphraseFile: o.passphraseFile }) });
  // The ledger is a convenience: used when <home> exists (it does once a key was made there).
  const result = await seal({
    items: requests,
    out: o.out,
    force: o.force === true,
    caseId: o.case,
    authority,
    location,
    note,
    algorithms,
    pieceSize,
    signer,
    ledger: ledgerAt(ctx),
    progress: progressFor(ctx),
    ...(jobs === undefined ? {} : { jobs }),
  });
  const out = result.file;
  const sealer = result.signer.identity;
  const files = result.fileCount;
  const unportable = [
    ...result.unportable,
    ...result.manifest.items.flatMap((it) => (it.emptyDirectoryMarks ?? []).filter((m) => m.windows !== undefined).map((m) => `data/${it.id}/${m.path}`)),
  ];
  const perItem = new Map<string, number>(result.manifest.items.map((it) => [it.id, 0]));
  for (const f of result.manifest.files) perItem.set(f.item, (perItem.get(f.item) ?? 0) + 1);
  return outcome(
    {
      bundle: out,
      bundleDigest: result.bundleDigest,
      bundleName: result.bagName,
      case: o.case,
      sealer: { name: sealer.name, keyid: sealer.keyid, fingerprint: sealer.fingerprint },
      items: result.manifest.items.map((it) => ({ id: it.id, kind: it.kind, files: result.itemFiles[it.id] ?? perItem.get(it.id) ?? 0, ...(it.image ? { image: it.image.acquisition ? { ...it.image, acquisition: acquisitionJson(it.image.acquisition) } : it.image } : {}) })),
      files,
      // Every payload file as custody/manifest.json records it, so a pipeline need not open the bundle
      // (up to RESULT_FILES_MAX files; beyond, fileHashesOmitted says to read custody/manifest.json).
      ...(result.manifest.files.length < files ? { fileHashesOmitted: true } : {}),
      fileHashes: result.manifest.files.map((f) => ({
        path: f.path,
        item: f.item,
        size: f.size,
        modifiedAt: f.mtime,
        hashes: f.hashes,
        ...(f.pieces ? { pieces: { count: f.pieces.count, merkleRoot: f.pieces.merkleRoot } } : {}),
      })),
      bytes: result.payloadBytes,
      algorithms,
      pieceSize,
      ledger: result.ledger,
      windowsUnportable: unportable,
    },
    [
      `sealed ${out}`,
      `  case          ${o.case}`,
      `  items         ${result.manifest.items.map((i) => i.id).join(', ')} (${files} file${files === 1 ? '' : 's'}, ${humanBytes(result.payloadBytes)})`,
      `  sealer        ${sealer.name} (key id ${sealer.keyid})`,
      `  fingerprint   ${groupedFingerprint(sealer.fingerprint)}`,
      `  bundle digest ${result.bundleDigest}`,
      ...result.manifest.items.flatMap((it) => (it.image ? imageLines(it.id, it.image) : [])),
      ...(unportable.length > 0
        ? [`  windows       ${unportable.length} name${unportable.length === 1 ? '' : 's'} Windows cannot hold (sealed as they are, marked in custody/manifest.json): ${unportable.map((p) => escapeText(p)).join(', ')}`]
        : []),
    ],
  );
}
