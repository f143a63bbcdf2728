/**
 * What a key reference on the command line (`--key`, `--trust`, `--to`,
 * `key show <key>`) names: a key in the key stores, or a file.
 *
 * Threat: a file planted in the working directory (a courier's medium, a
 * shared evidence folder) named like a fingerprint prefix. If such a name
 * were tried as a file first, `verify --trust 3f2a9c0d` would trust the
 * planter's key and `transfer --to 3f2a9c0d` would hand the bundle to the
 * planter, while the user believes they named a key they know. So a
 * reference that looks like hex is looked up in the key stores only, never
 * on disk; a file is named as a path (`./3f2a9c0d`, `keys/ana.pub`).
 */

/** The separators people use when reading a fingerprint out (DESIGN §2). */
const SEPARATED_HEX = /^[0-9a-fA-F]+(?:[ :-]+[0-9a-fA-F]+)+$/;

/**
 * The lowercase hex digits of a reference that looks like a key id or
 * fingerprint (prefix), else undefined: plain hex digits of any length, or
 * all 64 digits of a fingerprint written with spaces, colons or dashes.
 */
export function hexKeyRef(ref: string): string | undefined {
  const t = ref.trim();
  if (/^[0-9a-fA-F]+$/.test(t)) return t.toLowerCase();
  if (SEPARATED_HEX.test(t)) {
    const digits = t.replace(/[ :-]+/g, '');
    if (digits.length === 64) return digits.toLowerCase();
  }
  return undefined;
}

/** The hint for a hex-looking reference that found no key: how to name a file of that name instead. */
export function fileHint(ref: string): string {
  return `to use a file of that name, give it as a path: ./${ref}`;
}
