/**
 * The extract use case: verify while writing into a hidden temporary folder
 * beside the destination; rename it into place only when everything
 * verified. On any failure nothing is left at the destination.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { CustodyError } from '../core/errors.js';
import { sweepStaleTemps, tempNameBeside, trackTemp, untrackTemp } from '../bundle/temp-files.js';
import { walkHeaders } from '../bundle/chain-read.js';
import { assertNameBytesHold, directorySink, fileTimes, finishExtraction, type RenamedMember } from '../bundle/extract.js';
import { parseCustodyManifest } from '../bundle/custody-manifest.js';
import { CUSTODY_MANIFEST_JSON } from '../bundle/layout.js';
import { RENAME_MAPPING, renameMappingBytes } from '../bundle/rename-mapping.js';
import { preadAt } from '../bundle/tar-locate.js';
import { TargetNameCheck, probeTarget, type TargetProfile } from '../bundle/target-names.js';
import type { BundleVerdict } from '../bundle/verify.js';
import type { BundleInput } from './bundle-input.js';
import type { ProgressFactory } from './progress.js';
import { mark } from '../core/timeline.js';
import { assertTrustFlags, verifyInput, type TrustRequest } from './verify.js';

export interface ExtractRequest extends TrustRequest {
  input: BundleInput;
  /** The folder to create (or an empty one, which is replaced). */
  into: string;
  progress?: ProgressFactory;
  /** What the destination's file system does to names; probed when not given (tests simulate one). */
  target?: TargetProfile;
  /** Write members the target cannot hold under safe names, listed in CUSTODY-RENAMED.json, instead of refusing. */
  renameUnportable?: boolean;
}

export interface ExtractResult {
  into: string;
  extracted: boolean;
  verdict: BundleVerdict;
  /** Members written under another name (only with renameUnportable); empty when none was. */
  renamed: RenamedMember[];
  /** The mapping file in the destination, when a member was renamed. */
  mapping?: string;
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

/** Checks the destination before the bundle is opened (a usage error must not wait for a long read). */
export function checkExtractDestination(into: string): string {
  const dest = path.resolve(into);
  assertFreeDestination(dest);
  if (!fs.existsSync(path.dirname(dest))) throw new CustodyError('NOT_FOUND', `the parent folder of ${into} does not exist`);
  return dest;
}

/**
 * A bundle file: every member name, from a header walk (no data read), goes
 * through the target check before anything is written, and so do the empty
 * folders and the original name bytes custody/manifest.json lists (read
 * ahead, unverified: it only decides a refusal; verify checks it later). A
 * bundle that does not even walk is left to verify, which says why in its
 * own words.
 */
async function checkNamesFirst(input: BundleInput, names: TargetNameCheck): Promise<void> {
  if (input.label === 'stdin' || input.journal !== undefined) return; // checked member by member instead
  // A target that keeps every name as it is (ext4, XFS) and takes any name bytes has nothing to refuse:
  // walking 200,000 headers and holding their names first would be wasted.
  if (!names.active && !(names.profile.utf8Names === true && names.mode === 'refuse')) return;
  let manifestBytes: Uint8Array | undefined;
  // Names go to the check as the walk meets them (no object per member: a million of them took ~150 MB).
  // A refusal waits for the walk's end: a bundle that does not walk is verify's to explain, not this check's.
  let refusal: unknown;
  let manifestAt: { size: number; dataOffset: number } | undefined;
  const fh = await fsp.open(input.label, 'r');
  try {
    await walkHeaders(fh, (await fh.stat()).size, {
      keep: (name, _type, size, dataOffset) => {
        const slash = name.indexOf('/');
        if (slash > 0 && refusal === undefined) {
          try {
            names.add(name.slice(slash + 1));
          } catch (e) {
            refusal = e;
          }
        }
        if (name.endsWith(`/${CUSTODY_MANIFEST_JSON}`) && slash === name.length - CUSTODY_MANIFEST_JSON.length - 1) manifestAt ??= { size, dataOffset };
        return false;
      },
    });
    if (manifestAt !== undefined && manifestAt.size <= 64 << 20) manifestBytes = await preadAt(fh, manifestAt.size, manifestAt.dataOffset);
  } catch {
    return;
  } finally {
    await fh.close();
  }
  if (refusal !== undefined) throw refusal;
  if (manifestBytes === undefined) return;
  let manifest;
  try {
    manifest = parseCustodyManifest(manifestBytes);
  } catch {
    return; // verify says what is wrong with it
  }
  for (const item of manifest.items) for (const d of item.emptyDirectories) names.add(`data/${item.id}/${d}`);
  assertNameBytesHold(manifest, names);
}

export async function extractBundle(req: ExtractRequest): Promise<ExtractResult> {
  assertTrustFlags(req);
  const dest = checkExtractDestination(req.into);
  sweepStaleTemps(dest, 'custody-tmp');
  const tmp = tempNameBeside(dest, 'custody-tmp');
  fs.mkdirSync(tmp, { mode: 0o700 });
  trackTemp(tmp);
  let placed = false;
  let sink: ReturnType<typeof directorySink> | undefined;
  try {
    const names = new TargetNameCheck(req.target ?? probeTarget(tmp), dest, req.renameUnportable === true ? 'rename' : 'refuse');
    await checkNamesFirst(req.input, names);
    // Only the file times and the rare original name bytes of custody/manifest.json are kept, not an object per file.
    sink = directorySink(tmp, names);
    const verdict = await verifyInput({ ...req, sink, label: 'extract', keepFiles: 'times' });
    if (verdict.error || !verdict.manifest || !verdict.read) {
      verdict.error ??= new CustodyError('INTERNAL', 'verified without a manifest');
      return { into: dest, extracted: false, verdict, renamed: [] };
    }
    mark('extract: verified');
    await sink.drain(); // every file on disk (or its write error) before the finishing touches
    mark('extract: every file on disk');
    const renamed = await finishExtraction(tmp, verdict.manifest, names, fileTimes(verdict.read), sink.fileTimesSet());
    if (renamed.length > 0) {
      const bundle = { ...(verdict.bagName === undefined ? {} : { bagName: verdict.bagName }), ...(verdict.bundleDigest === undefined ? {} : { bundleDigest: verdict.bundleDigest }) };
      fs.writeFileSync(path.join(tmp, RENAME_MAPPING), renameMappingBytes(bundle, renamed), { flag: 'wx', mode: 0o644 });
    }
    assertFreeDestination(dest); // again: something may have appeared there meanwhile
    try {
      fs.renameSync(tmp, dest);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') throw new CustodyError('EXISTS', `${dest} appeared while extracting; nothing was written there`);
      throw e;
    }
    placed = true;
    return { into: dest, extracted: true, verdict, renamed, ...(renamed.length > 0 ? { mapping: path.join(dest, RENAME_MAPPING) } : {}) };
  } finally {
    await sink?.close(); // the writer thread creates nothing more once this returns
    untrackTemp(tmp);
    if (!placed) fs.rmSync(tmp, { recursive: true, force: true });
  }
}
