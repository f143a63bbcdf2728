/**
 * `--jobs <n>`: how many hash worker threads a command may start (hash, seal,
 * verify). One parser and one help text, so the three commands accept the
 * same values and say the same thing.
 *
 * Threat guarded against: a typo (`--jobs 1000000`, `--jobs two`) that would
 * start a thread per unit or silently fall back to a default: it is refused
 * with one line (exit 2) before any evidence is read.
 */
import { CustodyError } from '../core/errors.js';

/** The most workers --jobs accepts (each is a thread with its own buffers). */
export const JOBS_MAX = 256;

/** The option's help line; `scales` says what the workers speed up on this command. */
export function jobsHelp(scales: string): string {
  return `hash workers (default: one per core, at most 16); ${scales}`;
}

/** --jobs: a whole number of workers, 1 to 256 (each is a thread); undefined when not given. */
export function parseJobs(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = /^[0-9]{1,3}$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!(n >= 1 && n <= JOBS_MAX)) throw new CustodyError('USAGE', `--jobs must be a whole number from 1 to ${JOBS_MAX}, not ${JSON.stringify(v)}`);
  return n;
}
