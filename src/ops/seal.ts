/**
 * The seal use case: collect the items, hash every evidence file once while
 * writing the bundle under a temporary name, rename it into place, and
 * record the seal in the ledger when there is one.
 *
 * Threats: replacing the only copy of the evidence (an --out that is an
 * input, a hard link to one, or inside an item folder is refused even with
 * force); a half-written bundle under the final name (temp + rename).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Algo } from '../core/algorithms.js';
import { assertCaseId } from '../core/case-id.js';
import { HashEngine } from '../core/engine.js';
import { CustodyError } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { writeFileAtomically } from '../bundle/atomic-output.js';
import { assertOutsideItems, collectItems, type CollectedItem, type ItemRequest } from '../bundle/collect-items.js';
import { bagNameFromOut } from '../bundle/layout.js';
import { RESULT_FILES_MAX, writeBundle, type SealResult } from '../bundle/seal.js';
import { SealSpill } from '../bundle/seal-spill.js';
import { assertWithinTagLimits } from '../bundle/seal-limits.js';
import { sweepStaleTemps, tempNameBeside } from '../bundle/temp-files.js';
import { TarWriter } from '../bundle/tar-writer.js';
import type { Signer } from '../custody/identity.js';
import type { LedgerAccess } from './ledger-access.js';
import { fileRows, itemRows } from './ledger-rows.js';
import { noProgress, type ProgressFactory } from './progress.js';

export interface SealOpRequest {
  items: ItemRequest[];
  out: string;
  force?: boolean;
  caseId: string;
  authority?: string | undefined;
  location?: string | undefined;
  note?: string | undefined;
  algorithms: Algo[];
  pieceSize: number;
  /** Asked for once the items are known to be readable (a passphrase prompt must not come before a missing-file error). */
  signer: Signer | (() => Promise<Signer>);
  ledger?: LedgerAccess | undefined;
  progress?: ProgressFactory;
  now?: Date;
  /** Hash worker threads (default: one per core, at most 16). */
  jobs?: number;
}

export interface Sealed extends SealResult {
  file: string;
  signer: Signer;
  /** Whether the seal went into a ledger. */
  ledger: boolean;
}

/** Refuses an existing --out before any evidence is read. */
/**
 * Refuses an --out that cannot be written, before a byte of evidence is read
 * (sealing a 2 TB image for an hour to fail at the rename is the threat):
 * an existing folder (even with --force), a folder that does not exist or
 * that we may not write in, an existing file without --force.
 */
export function checkSealOutput(out: string, force: boolean): string {
  const file = path.resolve(out);
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (st?.isDirectory()) {
    throw new CustodyError('USAGE', `--out ${out} is a folder`, { hint: `give the bundle's file name, e.g. --out ${path.join(out, 'case.tar')}` });
  }
  const dir = path.dirname(file);
  const dst = fs.statSync(dir, { throwIfNoEntry: false });
  if (!dst) throw new CustodyError('NOT_FOUND', `the folder of --out ${out} (${dir}) does not exist`);
  if (!dst.isDirectory()) throw new CustodyError('USAGE', `the folder of --out ${out} (${dir}) is not a folder`);
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    throw new CustodyError('USAGE', `cannot write in ${dir}, the folder of --out ${out}`, { hint: 'choose a folder you may write in' });
  }
  if (!force && st) {
    throw new CustodyError('EXISTS', `${out} already exists`, { hint: 'choose another --out, or add --force to replace it' });
  }
  return file;
}

/**
 * Refuses, before reading, a bundle that cannot fit: the evidence plus what
 * tar and the tag files add (a few KiB per file, at most) must be free on the
 * file system of --out.
 */
export function checkFreeSpace(out: string, items: CollectedItem[]): void {
  const files = items.reduce((n, it) => n + it.files.length, 0);
  const bytes = items.reduce((n, it) => n + it.files.totalBytes, 0);
  const need = bytes + files * 4096 + (1 << 20);
  let free: number;
  try {
    const sf = fs.statfsSync(path.dirname(out));
    free = sf.bavail * sf.bsize;
  } catch {
    return; // no figure to go by: a full disk still fails cleanly (IO_ERROR, temp file removed)
  }
  if (free < need) {
    throw new CustodyError('USAGE', `not enough free space for ${out}: the bundle needs about ${need} bytes, ${path.dirname(out)} has ${free} free; nothing was read`, {
      hint: 'write the bundle to a larger disk',
    });
  }
}

export async function seal(req: SealOpRequest): Promise<Sealed> {
  assertCaseId(req.caseId);
  if (req.jobs !== undefined && (!Number.isSafeInteger(req.jobs) || req.jobs < 1)) throw new CustodyError('USAGE', `--jobs must be a whole number of workers, 1 or more (got ${req.jobs})`);
  const out = checkSealOutput(req.out, req.force === true);
  // Dropped once the bundle is written: the walk's names, sizes and times (~65 MB at a million files) are
  // not needed by the ledger, which reads the files back from the spill.
  let items: CollectedItem[] | undefined = await collectItems(req.items);
  assertOutsideItems(out, items);
  checkFreeSpace(out, items);
  assertWithinTagLimits(bagNameFromOut(path.basename(out)), items, req.algorithms, req.pieceSize);
  const signer = typeof req.signer === 'function' ? await req.signer() : req.signer;
  const ledger = await req.ledger?.();
  let spill: SealSpill | undefined;
  try {
    const known = await ledger?.getCase(req.caseId);
    const caseInfo: { id: string; title?: string; authority?: string } = { id: req.caseId };
    if (known?.title !== undefined) caseInfo.title = known.title;
    const auth = req.authority ?? known?.authority;
    if (auth !== undefined) caseInfo.authority = auth;

    const total = items.reduce((n, it) => n + it.files.totalBytes, 0);
    const progress = (req.progress ?? noProgress)('seal', total);
    const engine = new HashEngine(req.jobs === undefined ? {} : { workers: req.jobs });
    // Per-file results go to disk beside the bundle (the run's temporary area), not into memory.
    sweepStaleTemps(out, 'spill');
    spill = new SealSpill(req.algorithms, tempNameBeside(out, 'spill'));
    let result: SealResult;
    try {
      result = await writeFileAtomically(out, req.force === true, (fd) =>
        writeBundle(new TarWriter(fd, { syncEvery: 64 << 20, bufferBytes: 1 << 20, trackNames: false }), {
          spill,
          engine,
          signer,
          items: items!,
          bagName: bagNameFromOut(path.basename(out)),
          bundleFile: path.basename(out),
          caseInfo,
          algorithms: req.algorithms,
          pieceSize: req.pieceSize,
          toolVersion: VERSION,
          ...(req.jobs === undefined ? {} : { jobs: req.jobs }),
          ...(req.location === undefined ? {} : { location: req.location }),
          ...(req.note === undefined ? {} : { note: req.note }),
          ...(req.now === undefined ? {} : { now: req.now }),
          onProgress: (n) => progress.update(n),
        }),
      );
    } finally {
      progress.stop();
      await engine.close();
    }
    items = undefined;

    await ledger?.recordSeal({
      bundleDigest: result.bundleDigest,
      bundleName: result.bagName,
      path: out,
      caseId: req.caseId,
      items: itemRows(result.manifest),
      files: result.fileCount <= RESULT_FILES_MAX ? fileRows(result.manifest) : fileRows({ files: { [Symbol.iterator]: () => spill!.files() } }),
      record: {
        seq: 0,
        action: 'seal',
        payload: result.record.payload,
        envelope: result.record.envelope,
        signerKeyid: signer.identity.keyid,
        at: result.record.predicate.at,
      },
    });
    return { ...result, file: out, signer, ledger: ledger !== undefined };
  } finally {
    await ledger?.close();
    spill?.close(); // after the ledger has read the files from it
  }
}
