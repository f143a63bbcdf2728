/**
 * Progress for long reads (a 2 TB image takes an hour): bytes done, rate and
 * ETA on stderr, only when ctx.showProgress (a terminal, not --quiet/--json),
 * so pipelines and JSON consumers never see it. The engine only reports bytes.
 */
import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';
import type { CliContext } from './context.js';
import type { Progress, ProgressFactory } from '../ops/progress.js';

// Loaded on first use: only a terminal shows a bar, and loading cli-progress costs every CLI start time.
const load = createRequire(import.meta.url);

export type { Progress } from '../ops/progress.js';

const NOOP: Progress = { update() {}, stop() {} };

export { humanBytes } from '../core/bytes.js';
import { humanBytes } from '../core/bytes.js';

function humanTime(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** The text of one progress line (exported for tests). */
export function progressLine(label: string, done: number, total: number | undefined, elapsedMs: number, bar = ''): string {
  const rate = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
  const rateText = `${humanBytes(rate)}/s`;
  if (total === undefined) return `${label} ${humanBytes(done)}  ${rateText}`;
  const pct = total > 0 ? Math.min(100, (done / total) * 100) : 100;
  const eta = rate > 0 ? (total - done) / rate : Number.NaN;
  return `${label} ${bar}${bar ? ' ' : ''}${pct.toFixed(1)}%  ${humanBytes(done)}/${humanBytes(total)}  ${rateText}  ETA ${humanTime(eta)}`;
}

export function makeProgress(ctx: CliContext, label: string, total: number | undefined): Progress {
  if (!ctx.showProgress) return NOOP;
  const started = Date.now();
  const cliProgress = load('cli-progress') as typeof CliProgress;
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    fps: 5,
    hideCursor: true,
    clearOnComplete: true,
    barsize: 24,
    format: (options, params) => {
      const size = options.barsize ?? 24;
      const filled = Math.round(params.progress * size);
      const drawn = total === undefined ? '' : '█'.repeat(filled) + '░'.repeat(size - filled);
      return progressLine(label, params.value, total, Date.now() - started, drawn);
    },
  });
  bar.start(total ?? 0, 0);
  return {
    update(bytesDone: number) {
      if (total === undefined) bar.setTotal(bytesDone);
      bar.update(bytesDone);
    },
    stop() {
      bar.stop();
    },
  };
}

/** The progress bars of this context as the use cases take them. */
export function progressFor(ctx: CliContext): ProgressFactory {
  return (label, total) => makeProgress(ctx, label, total);
}
