/**
 * Whether a file is an age-encrypted bundle, decided by its first bytes (the
 * age v1 version line), not by its name. Apart from age-files.ts so that
 * asking costs nothing: the age layer itself (cipher, X25519, a native
 * binding) is loaded only when the answer is yes.
 *
 * Threat guarded against: an encrypted bundle renamed to .tar read as a
 * (malformed) tar, or a plain bundle named .age refused, because the name
 * was trusted over the content.
 */
import { fromSystemError } from '../core/errors.js';
import { openForReading } from '../core/open-file.js';
import { INTRO } from '../custody/age/intro.js';

export const AGE_MAGIC = new TextEncoder().encode(`${INTRO}\n`);

/** Whether the file starts with the age v1 version line (decided by content, not by name). */
export async function isAgeFile(file: string): Promise<boolean> {
  const fh = await openForReading(file);
  try {
    const buf = new Uint8Array(AGE_MAGIC.length);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return bytesRead === AGE_MAGIC.length && buf.every((b, i) => b === AGE_MAGIC[i]);
  } catch (e) {
    throw fromSystemError(e, file);
  } finally {
    await fh.close().catch(() => {});
  }
}
