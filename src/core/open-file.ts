/** Opening an input for reading, with the one error mapping every command uses (missing → exit 2, other → exit 3). */
import fsp, { type FileHandle } from 'node:fs/promises';
import { fromSystemError } from './errors.js';

/** `path` as bytes where a name in it is not valid UTF-8 (it is shown with U+FFFD in messages). */
export async function openForReading(path: string | Uint8Array): Promise<FileHandle> {
  try {
    return await fsp.open(typeof path === 'string' ? path : Buffer.from(path), 'r');
  } catch (e) {
    throw fromSystemError(e, typeof path === 'string' ? path : new TextDecoder().decode(path));
  }
}
