/**
 * `custody transfer --encrypt`: after the transfer record is appended, the
 * bundle is also written encrypted to the recipient's key in the age format
 * (DESIGN §3 "In transit"), so it can travel over an untrusted channel and be
 * opened only by custody or stock `age` with the recipient's key.
 *
 * Everything that can be refused (a bad --encrypt-to, an --out that exists)
 * is checked before the record is appended; the .age file is written under a
 * temporary name and renamed only when complete.
 */
import path from 'node:path';
import { CustodyError } from '../core/errors.js';
import { assertCanCreate } from '../bundle/atomic-output.js';
import { noteIfInterrupted } from '../bundle/temp-files.js';
import { encryptFileTo } from '../bundle/age-files.js';
import type { Identity } from '../custody/identity.js';
import type { CliContext } from './context.js';
import { loadRecipients } from './age-keys.js';

export interface EncryptOptions {
  encrypt?: boolean;
  out?: string;
  encryptTo?: string[];
}

export interface EncryptedCopy {
  out: string;
  recipients: string[];
  bytes: number;
}

/** Checks the encryption options now; the returned function writes the copy (undefined without --encrypt). */
export function prepareEncryptedCopy(ctx: CliContext, bundle: string, to: Identity, o: EncryptOptions): (() => Promise<EncryptedCopy>) | undefined {
  if (!o.encrypt) {
    if (o.out !== undefined || (o.encryptTo?.length ?? 0) > 0) throw new CustodyError('USAGE', '--out and --encrypt-to go with --encrypt');
    return undefined;
  }
  const out = path.resolve(o.out ?? `${bundle}.age`);
  if (out === bundle) throw new CustodyError('USAGE', '--out must not be the bundle itself');
  assertCanCreate(out, false, 'another --out');
  const recipients = loadRecipients(ctx, to, o.encryptTo ?? []);
  // The record is already in the bundle when the copy is made: a failure or an interruption says so, and how to make the copy without a second transfer.
  const byStockAge = `encrypt it with stock age: custody key export ${to.keyid} --format ssh > to.ssh.pub; age -R to.ssh.pub -o ${out} ${bundle}`;
  return async () => {
    const withdraw = noteIfInterrupted(`the transfer is recorded in ${bundle}, but the encrypted copy was not written; ${byStockAge}`);
    try {
      const r = await encryptFileTo(bundle, recipients, out);
      return { out: r.out, bytes: r.bytes, recipients: recipients.map((x) => x.label) };
    } catch (e) {
      const err = e instanceof CustodyError ? e : new CustodyError('IO_ERROR', String(e), { cause: e });
      throw new CustodyError(err.code, `the transfer is recorded in ${bundle}, but the encrypted copy was not written: ${err.message}`, {
        hint: `free space or fix the cause, then ${byStockAge}`,
        cause: e,
      });
    } finally {
      withdraw();
    }
  };
}
