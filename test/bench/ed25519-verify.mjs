#!/usr/bin/env node
/**
 * What one Ed25519 verification costs here, the floor of a chain operation's
 * cost per record (transfer, receive and log verify each record once):
 * @noble/ed25519's ed.verify (what src/custody/ed25519.ts uses) against
 * @noble/curves' ed25519.verify, both strict (zip215: false), on 400
 * distinct ~700-byte messages signed by two keys (a 401-record chain),
 * alternating rounds, wall and CPU per verification.
 * Alone: `node test/bench/ed25519-verify.mjs` (CUSTODY_BENCH_ROUNDS, default 5).
 */
import * as ed from '@noble/ed25519';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';

ed.hashes.sha512 = sha512;
const N = 400;
const ROUNDS = Number(process.env.CUSTODY_BENCH_ROUNDS ?? 5);
const seeds = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
const pubs = seeds.map((s) => ed.getPublicKey(s));
const msgs = [];
const sigs = [];
const keys = [];
for (let i = 0; i < N; i++) {
  const m = new Uint8Array(700).fill(i & 255);
  m[0] = i >> 8;
  msgs.push(m);
  sigs.push(ed.sign(m, seeds[i % 2]));
  keys.push(pubs[i % 2]);
}
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
function round(f) {
  const t0 = performance.now();
  const c0 = cpuMs();
  let ok = 0;
  for (let i = 0; i < N; i++) ok += f(sigs[i], msgs[i], keys[i]) ? 1 : 0;
  if (ok !== N) throw new Error('a valid signature did not verify');
  return { wall: (performance.now() - t0) / N, cpu: (cpuMs() - c0) / N };
}
const libs = {
  '@noble/ed25519 ed.verify': (s, m, k) => ed.verify(s, m, k, { zip215: false }),
  '@noble/curves ed25519.verify': (s, m, k) => ed25519.verify(s, m, k, { zip215: false }),
};
const first = {};
for (const [name, f] of Object.entries(libs)) {
  const t0 = performance.now();
  f(sigs[0], msgs[0], keys[0]);
  first[name] = performance.now() - t0;
}
const results = Object.fromEntries(Object.keys(libs).map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++) for (const [name, f] of Object.entries(libs)) results[name].push(round(f));
for (const [name, rs] of Object.entries(results)) {
  const w = rs.map((x) => x.wall).sort((a, b) => a - b);
  const c = rs.map((x) => x.cpu).sort((a, b) => a - b);
  const mid = Math.floor(rs.length / 2);
  console.log(
    `${name.padEnd(30)} per verification: CPU best ${c[0].toFixed(3)} ms, median ${c[mid].toFixed(3)} ms; wall best ${w[0].toFixed(3)} ms, median ${w[mid].toFixed(3)} ms; first call ${first[name].toFixed(1)} ms`,
  );
}
