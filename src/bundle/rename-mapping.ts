/**
 * The mapping file `custody extract --rename-unportable` writes into the
 * extracted folder: every payload member the target could not hold under its
 * sealed name, with that name, its original bytes where they differ (a name
 * that is not valid UTF-8), the name it was written under, and why.
 *
 * Threat: evidence silently under another name than the one sealed — an
 * examiner citing `Readme (2).txt` in a statement without knowing that the
 * bundle calls it `Readme.txt`, or a script that checks the extracted files
 * against manifest-sha256.txt missing one. The file is JSON with one member
 * per line, so a person can read it and grep it, and a script can parse it.
 */
import type { RenamedMember } from './extract.js';

export const RENAME_MAPPING = 'CUSTODY-RENAMED.json';

const ABOUT =
  'custody extract --rename-unportable wrote these members of the bundle under other names: the file system it extracted onto cannot hold their sealed names. ' +
  'path: the payload path as sealed (custody/manifest.json; manifest-<alg>.txt percent-encodes CR, LF and %); ' +
  'nameBytes: the original name bytes inside the item in hex, where they differ from path; ' +
  'written: where the member is in this folder. To check a file against the manifests, hash "written" and compare with the line of "path".';

export function renameMappingBytes(bundle: { bagName?: string; bundleDigest?: string }, renamed: readonly RenamedMember[]): Uint8Array {
  const head = {
    custodyRenamed: 1,
    about: ABOUT,
    ...(bundle.bagName === undefined ? {} : { bundle: bundle.bagName }),
    ...(bundle.bundleDigest === undefined ? {} : { bundleDigest: bundle.bundleDigest }),
  };
  const lines = renamed.map((r) =>
    JSON.stringify({ path: r.path, ...(r.nameBytes === undefined ? {} : { nameBytes: r.nameBytes }), written: r.written, kind: r.kind, why: r.why }),
  );
  const headText = JSON.stringify(head, null, 2).replace(/\n}$/, '');
  const body = lines.length === 0 ? '[]' : `[\n    ${lines.join(',\n    ')}\n  ]`;
  return new TextEncoder().encode(`${headText},\n  "renamed": ${body}\n}\n`);
}
