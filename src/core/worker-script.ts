/**
 * Where a worker thread's script is: the compiled JavaScript beside this
 * module in dist/core/, also when the code runs from src/*.ts under vitest
 * (npm test builds first). One rule for every pool of workers, so a worker
 * never starts from a stale or missing file without one clear line saying so.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CustodyError } from './errors.js';

/** The path of dist/core/<file>; INTERNAL (exit 3) with "run npm run build" when it is not there. */
export function workerScript(file: string, what: string): string {
  const here = import.meta.url;
  const url = here.endsWith('.ts') ? new URL(`../../dist/core/${file}`, here) : new URL(`./${file}`, here);
  const p = fileURLToPath(url);
  if (!fs.existsSync(p)) throw new CustodyError('INTERNAL', `${what} missing at ${p}`, { hint: 'run npm run build' });
  return p;
}
