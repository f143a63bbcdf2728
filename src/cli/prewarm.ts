/**
 * `custody verify <bundle file>` in pieces mode hashes on worker threads
 * beside the main thread, and a worker thread takes ~0.1 s to start (a Node
 * start-up of its own). entry.ts calls this before it loads the command, so
 * the workers start while commander and the command load. A guess from the
 * raw arguments, and only a head start: the piece pool takes these workers
 * if it runs, and if it does not (--full, stdin, --help) they are dropped
 * with the process.
 */
import { defaultJobs, prewarmPieceWorkers } from '../core/piece-pool.js';
import { piecesLikely } from './argv-command.js';

export function prewarmForVerify(argv: string[]): void {
  if (piecesLikely(argv)) prewarmPieceWorkers(defaultJobs() - 1);
}
