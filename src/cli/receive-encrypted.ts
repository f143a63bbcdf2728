/**
 * `custody receive <bundle.tar.age> --out <bundle.tar>`: the encrypted bundle
 * is decrypted with the recipient's key while it is verified, and the
 * decrypted bytes are written at the same time to a temporary file beside
 * --out. Only a bundle that verified (and names this key as the recipient
 * of the pending transfer) is renamed to --out; the receive record is then
 * appended to it as to any bundle.
 *
 * Threats guarded against: a bundle that fails verification, decryption or
 * the recipient check leaving a plaintext copy behind (the temporary file is
 * removed on every failure); a truncated .age verifying because the reader
 * stopped early (the decrypted stream must have been read to its
 * authenticated end before anything is kept); decrypted evidence left behind
 * by Ctrl-C or a kill (SIGINT, SIGTERM, SIGHUP: the temporary is tracked, and
 * the CLI's signal handlers remove every tracked temporary; only SIGKILL cannot
 * be caught, and then the hidden temporary, mode 0600, named with the pid, stays
 * beside --out); a received bundle at --out without its receive record (a
 * signal or a refusal after it was kept, before the record was appended:
 * --out stays tracked until then).
 */
import fs from 'node:fs';
import path from 'node:path';
import { CustodyError } from '../core/errors.js';
import { assertCanCreate } from '../bundle/atomic-output.js';
import { tempNameBeside, trackTemp, untrackTemp } from '../bundle/temp-files.js';
import { isAgeFile } from '../bundle/age-files.js';
import { journalPathFor } from '../bundle/tar-append.js';
import type { BundleVerdict } from '../bundle/verify.js';
import { sshEd25519Identity } from '../custody/age/recipients.js';
import { signerFromSeed, type Signer } from '../custody/identity.js';
import { identityLabel } from './age-keys.js';
import type { CliContext } from './context.js';
import { loadSecretKey } from './keys.js';
import { openBundleInput, type BundleInput } from '../ops/bundle-input.js';

export interface EncryptedReceive {
  /** Where the received bundle is written. */
  out: string;
  signer: Signer;
  source: BundleInput;
  /** Runs `verify` on a source that also writes the plaintext beside --out; keeps it at --out only if the verdict is ok. */
  verifyInto(verify: (src: BundleInput) => Promise<BundleVerdict>): Promise<BundleVerdict>;
  /**
   * After the receive: `received` keeps --out; otherwise (a refusal or an
   * error after it was kept, before the record was appended) it is removed.
   * Until then a signal removes it too: a received bundle without its
   * receive record is not what the run was asked to make.
   */
  settle(received: boolean): void;
}

/** Undefined unless `bundleArg` is an age file; then needs --out, and opens it with the signing key. */
export async function openEncryptedReceive(
  ctx: CliContext,
  bundleArg: string,
  o: { key?: string | undefined; passphraseFile?: string | undefined; out?: string | undefined; receiptOut?: string | undefined },
): Promise<EncryptedReceive | undefined> {
  let isFile = false;
  try {
    isFile = fs.statSync(bundleArg).isFile();
  } catch {
    return undefined; // openBundleInput reports it
  }
  if (!isFile || !(await isAgeFile(bundleArg))) {
    if (o.out !== undefined) throw new CustodyError('USAGE', '--out is for an encrypted bundle (.tar.age); a plain bundle gets the record appended in place');
    return undefined;
  }
  if (o.out === undefined) throw new CustodyError('USAGE', `${bundleArg} is encrypted: give --out <bundle.tar> for the received bundle`);
  if (o.receiptOut !== undefined) throw new CustodyError('USAGE', '--receipt-out does not go with an encrypted bundle: the record is appended to --out');
  const out = path.resolve(o.out);
  assertCanCreate(out, false, 'another --out');
  // One unlock: the signing key is also the key the bundle is encrypted to.
  const { seed, identity } = await loadSecretKey(ctx, o);
  const signer = signerFromSeed(seed, identity);
  const source = await openBundleInput(bundleArg, { ageKeys: async () => [sshEd25519Identity(seed, identityLabel(identity))] });
  let placed = false;
  return {
    out,
    signer,
    source,
    settle(received) {
      if (!placed) return;
      untrackTemp(out);
      untrackTemp(journalPathFor(out));
      if (!received) {
        fs.rmSync(out, { force: true });
        fs.rmSync(journalPathFor(out), { force: true });
      }
      placed = false;
    },
    async verifyInto(verify) {
      const tmp = tempNameBeside(out, 'receive');
      let fd = fs.openSync(tmp, 'wx', 0o600);
      // An interrupted run (Ctrl-C, SIGTERM, SIGHUP) removes it: cli/main.ts's handlers remove every tracked temporary.
      trackTemp(tmp);
      let kept = false;
      let complete = false;
      async function* tee(): AsyncGenerator<Uint8Array> {
        for await (const c of source.stream) {
          for (let off = 0; off < c.length; ) off += fs.writeSync(fd, c, off, c.length - off);
          yield c;
        }
        complete = true;
      }
      try {
        const v = await verify({ ...source, stream: tee() });
        if (!v.ok) return v;
        if (!complete) throw new CustodyError('INTERNAL', 'the verifier stopped before the end of the decrypted bundle');
        fs.fsyncSync(fd);
        fs.closeSync(fd);
        fd = -1;
        assertCanCreate(out, false, 'another --out');
        fs.renameSync(tmp, out);
        kept = true;
        placed = true;
        trackTemp(out);
        trackTemp(journalPathFor(out));
        return v;
      } finally {
        untrackTemp(tmp);
        if (fd >= 0) fs.closeSync(fd);
        if (!kept) fs.rmSync(tmp, { force: true });
      }
    },
  };
}
