/**
 * What a hash worker does with an EWF ring (see ring.ts): hash the next slot
 * in media order as soon as it is decoded, and otherwise decode whichever
 * slot is next to decode, so no core idles while another has work. Runs
 * synchronously inside the worker until the ring ends or is aborted; the
 * worker's hashers see every media byte exactly once and in order.
 */
import { decodeBatch, decoderReady, eachMediaRun } from './decode.js';
import {
  ABORT,
  BAD,
  BAD_CHUNK,
  COUNT,
  DECODED,
  EMPTY,
  END,
  FILLED,
  GEN,
  LEN,
  NEXT,
  REASON_BYTES,
  REASON_LEN,
  REFS,
  SEQ,
  STATE,
  slotWord,
  type EwfRingShared,
} from './ring.js';

export { decoderReady };

/** `hash` gets each batch's media bytes in order (undefined: this worker only decodes). */
export function runLane(r: EwfRingShared, hash: ((media: Uint8Array) => void) | undefined): void {
  const c = new Int32Array(r.control);
  const inputs = r.inputs.map((b) => new Uint8Array(b));
  const outputs = r.outputs.map((b) => new Uint8Array(b));
  const tables = new Uint32Array(r.tables);
  const direct = new Int32Array(r.direct);
  const reasons = new Uint8Array(r.reasons);
  const encoder = new TextEncoder();
  const per = r.perBatch * 5;
  let next = 0; // next batch this worker hashes

  for (;;) {
    if (Atomics.load(c, ABORT) !== 0) return;
    const gen = Atomics.load(c, GEN);
    if (hash) {
      const s = next % r.slots;
      if (Atomics.load(c, slotWord(s, STATE)) === DECODED && Atomics.load(c, slotWord(s, SEQ)) === next) {
        const n = r.perBatch;
        eachMediaRun(inputs[s]!, outputs[s]!, direct.subarray(s * n, (s + 1) * n), c[slotWord(s, COUNT)]!, r.chunkSize, c[slotWord(s, LEN)]!, hash);
        next++;
        if (Atomics.sub(c, slotWord(s, REFS), 1) === 1) {
          Atomics.store(c, slotWord(s, STATE), EMPTY);
          Atomics.notify(c, slotWord(s, STATE));
        }
        continue;
      }
    }
    const filled = Atomics.load(c, FILLED);
    const d = Atomics.load(c, NEXT);
    if (d < filled) {
      if (Atomics.compareExchange(c, NEXT, d, d + 1) !== d) continue; // another worker took it
      const s = d % r.slots;
      const n = r.perBatch;
      const out = decodeBatch(inputs[s]!, outputs[s]!, direct.subarray(s * n, (s + 1) * n), tables.subarray(s * per, (s + 1) * per), c[slotWord(s, COUNT)]!, r.chunkSize);
      if (typeof out === 'number') {
        c[slotWord(s, LEN)] = out;
        Atomics.store(c, slotWord(s, STATE), DECODED);
      } else {
        const { written } = encoder.encodeInto(out.reason, reasons.subarray(s * REASON_BYTES, (s + 1) * REASON_BYTES));
        c[slotWord(s, BAD_CHUNK)] = out.chunk;
        c[slotWord(s, REASON_LEN)] = written;
        Atomics.store(c, slotWord(s, STATE), BAD);
        Atomics.notify(c, slotWord(s, STATE)); // the main thread reports it when it meets this slot
      }
      Atomics.add(c, GEN, 1);
      Atomics.notify(c, GEN);
      continue;
    }
    if (Atomics.load(c, END) !== 0 && (!hash || next >= filled)) return;
    // Nothing to do until the main thread fills a slot or another worker decodes one; the timeout is a safety net.
    Atomics.wait(c, GEN, gen, 200);
  }
}
