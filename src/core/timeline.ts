/**
 * A wall-clock timeline of one run, for finding what sits on the critical
 * path of `custody verify` (when each lane starts and ends its jobs, when the
 * last piece is in, what runs after it) and of `custody extract` (payload
 * read, verdict, file times set, folder synced). Off unless CUSTODY_TIMELINE is set:
 * then each mark is kept and, at exit, printed to stderr in milliseconds since
 * the process started (performance.timeOrigin), worker marks included (they
 * travel back with the job replies as absolute times).
 *
 * Threat guarded against: none in the evidence sense; a diagnostic that
 * costs nothing when off (one boolean test per mark) and never touches stdout,
 * so a verdict piped as JSON stays the same with it on.
 */
const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;

/** True when CUSTODY_TIMELINE is set (in this thread: workers inherit the environment). */
export const timelineOn = env?.CUSTODY_TIMELINE !== undefined && env.CUSTODY_TIMELINE !== '' && env.CUSTODY_TIMELINE !== '0';

/** Absolute time in ms (comparable across threads of one process). */
export function clock(): number {
  return performance.timeOrigin + performance.now();
}

const marks: [number, string][] = [];
let hooked = false;

/** Records `what` at `at` (default now) when the timeline is on. */
export function mark(what: string, at?: number): void {
  if (!timelineOn) return;
  marks.push([at ?? clock(), what]);
  if (!hooked) {
    hooked = true;
    const proc = (globalThis as { process?: { once(e: string, f: () => void): void; stderr: { write(s: string): void } } }).process;
    proc?.once('exit', () => {
      marks.push([clock(), 'exit']);
      marks.sort((a, b) => a[0] - b[0]);
      const t0 = performance.timeOrigin;
      proc.stderr.write(marks.map(([t, w]) => `timeline ${(t - t0).toFixed(1).padStart(7)} ms  ${w}\n`).join(''));
    });
  }
}
