/** Opening an input for reading, with the one error mapping every command uses (missing → exit 2, other → exit 3). */
import fsp, { type FileHandle } from 'node:fs/promises';
import { fromSystemError } from './errors.js';

export async function openForReading(path: string): Promise<FileHandle> {
  try {
    return await fsp.open(path, 'r');
  } catch (e) {
    throw fromSystemError(e, path);
  }
}
