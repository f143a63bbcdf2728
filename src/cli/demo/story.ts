/**
 * `custody demo`: the whole story on generated evidence, in-process, through
 * the same use cases the commands call (src/ops: so the demo shows what the
 * commands do, not a re-enactment), in seconds. Keys and clock can be given
 * (DemoOptions): the same seeds and clock make the same bundle, byte for byte.
 *
 * Safety: the demo must never read or write the user's own <home> (their
 * keys, trust store and ledger). Every step gets a context whose home is a
 * folder inside the demo directory, and every key is named explicitly
 * (--key), so neither CUSTODY_HOME nor CUSTODY_KEY from the environment is
 * consulted.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CustodyError } from '../../core/errors.js';
import { onInterrupt } from '../../bundle/temp-files.js';
import { walkHeaders } from '../../bundle/chain-read.js';
import type { BundleVerdict } from '../../bundle/verify.js';
import { signerFromSeed } from '../../custody/identity.js';
import { parsePublicKeyFile } from '../../custody/identity.js';
import { openBundleInput } from '../../ops/bundle-input.js';
import { createCase } from '../../ops/case.js';
import { createKey, type NewKey } from '../../ops/key.js';
import { readKeyishFile } from '../../ops/keystore.js';
import { homeLedger } from '../../ops/ledger-access.js';
import { bundleLog } from '../../ops/log.js';
import { receive } from '../../ops/receive.js';
import { writeReport } from '../../ops/report.js';
import { seal } from '../../ops/seal.js';
import { transfer } from '../../ops/transfer.js';
import { addTrustedKey } from '../../ops/trust.js';
import { verifyInput } from '../../ops/verify.js';
import { makeContext, type CliContext } from '../context.js';
import { renderReport } from '../report/report-command.js';
import { timelineText } from '../render/timeline.js';
import { verdictJson } from '../render/verdict.js';
import { writeDiskImage, writeExportFolder } from './evidence.js';

export interface DemoStep {
  step: string;
  /** One line for people. */
  line: string;
  /** Extra lines shown under it (the log). */
  detail?: string[];
  data?: Record<string, unknown>;
}

export interface DemoFiles {
  evidence: string;
  image: string;
  export: string;
  examinerHome: string;
  authorityHome: string;
  examinerPub: string;
  authorityPub: string;
  bundle: string;
  tampered: string;
  report: string;
  tamperedReport: string;
}

export interface DemoResult {
  dir: string;
  steps: DemoStep[];
  files: DemoFiles;
}

export const CASE_ID = 'DEMO-2026-001';
const PIECE = 1024 * 1024;
/** Where the demo flips a byte of the disk image inside the tampered copy (in piece 6 of 1 MiB pieces). */
export const TAMPER_IMAGE_OFFSET = 6 * 1024 * 1024 + 4242;

/** Uses `dir` if it is empty or does not exist; refuses anything else (the demo must not mix with real files). */
export function prepareDir(dir: string): { dir: string; created: boolean } {
  const abs = path.resolve(dir);
  if (fs.existsSync(abs)) {
    if (!fs.statSync(abs).isDirectory()) throw new CustodyError('EXISTS', `${dir} exists and is not a folder`, { hint: 'give --dir a new or empty folder' });
    if (fs.readdirSync(abs).length > 0) throw new CustodyError('EXISTS', `${dir} is not empty`, { hint: 'give --dir a new or empty folder' });
    return { dir: abs, created: false };
  }
  fs.mkdirSync(abs, { recursive: true });
  return { dir: abs, created: true };
}

/**
 * An interrupted demo leaves nothing behind: the folder it made is removed,
 * a folder it was given (empty, as required) is emptied again.
 */
function removeOnInterrupt(dir: string, created: boolean): () => void {
  return onInterrupt(() => {
    if (created) {
      fs.rmSync(dir, { recursive: true, force: true });
    } else {
      for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    }
    return true;
  });
}

/** A verification the story needs to pass, or the story stops: every step but the tampered verify must succeed. */
function expectVerified(step: string, v: BundleVerdict): BundleVerdict {
  if (v.error) throw new CustodyError('INTERNAL', `demo step "${step}" failed unexpectedly: ${v.error.message}`, { cause: v.error });
  return v;
}

function contextFor(home: string, outer: CliContext): CliContext {
  // Quiet: no progress bars or notes from the inner steps; the demo narrates.
  return makeContext({ home, quiet: true, color: outer.opts.color });
}

export interface DemoOptions {
  /** The two identities' 32-byte seeds (default: random). */
  seeds?: { examiner: Uint8Array; authority: Uint8Array };
  /** The clock: called once per step that dates something (default: the real time). */
  clock?: () => Date;
}

function keyJson(k: NewKey): Record<string, unknown> {
  const id = k.identity;
  return { keyid: id.keyid, fingerprint: id.fingerprint, name: id.name, org: id.org ?? null, role: id.role ?? null, createdAt: k.created, encrypted: k.encrypted, keyFile: k.keyFile, pubFile: k.pubFile };
}

export async function runDemo(outer: CliContext, dirArg: string, onStep: (s: DemoStep) => void = () => {}, o: DemoOptions = {}): Promise<DemoResult> {
  const { dir, created } = prepareDir(dirArg);
  const release = removeOnInterrupt(dir, created);
  try {
    return await story(outer, dir, onStep, o);
  } finally {
    release();
  }
}

async function story(outer: CliContext, dir: string, onStep: (s: DemoStep) => void, o: DemoOptions): Promise<DemoResult> {
  const clock = o.clock ?? (() => new Date());
  const steps: DemoStep[] = [];
  const c = outer.chalk;
  let t0 = Date.now();
  const add = (s: DemoStep) => {
    if (process.env.CUSTODY_DEMO_TIMING) s.line += ` [${Date.now() - t0} ms]`;
    t0 = Date.now();
    steps.push(s);
    onStep(s);
  };
  const f: DemoFiles = {
    evidence: path.join(dir, 'evidence'),
    image: path.join(dir, 'evidence', 'laptop-disk.dd'),
    export: path.join(dir, 'evidence', 'phone-export'),
    examinerHome: path.join(dir, 'examiner-home'),
    authorityHome: path.join(dir, 'authority-home'),
    examinerPub: path.join(dir, 'examiner.pub'),
    authorityPub: path.join(dir, 'authority.pub'),
    bundle: path.join(dir, `case-${CASE_ID}.tar`),
    tampered: path.join(dir, `case-${CASE_ID}-tampered.tar`),
    report: path.join(dir, `case-${CASE_ID}-custody-report.html`),
    tamperedReport: path.join(dir, `case-${CASE_ID}-tampered-report.html`),
  };

  // 1. Evidence.
  fs.mkdirSync(f.export, { recursive: true });
  writeDiskImage(f.image);
  const exported = writeExportFolder(f.export);
  // Generated evidence is dated by the demo's clock (its times go into custody/manifest.json).
  const made = clock();
  for (const file of [f.image, ...exported.map((rel) => path.join(f.export, rel))]) fs.utimesSync(file, made, made);
  add({
    step: 'evidence',
    line: `generated an 8 MiB raw disk image (MBR, one FAT32 partition, planted files) and a phone export folder (${exported.length} files, some nested) in ${f.evidence}`,
    data: { image: f.image, exportFolder: f.export, exportFiles: exported },
  });

  // 2. Two throwaway identities, each with its own home (keys, trust store, ledger).
  const ex = contextFor(f.examinerHome, outer);
  const au = contextFor(f.authorityHome, outer);
  const seeds = o.seeds ?? { examiner: new Uint8Array(randomBytes(32)), authority: new Uint8Array(randomBytes(32)) };
  const exKey = await createKey({ home: f.examinerHome, seed: seeds.examiner, naming: { name: 'Ana Lima', org: 'Police Forensic Lab', role: 'examiner' }, passphrase: null, now: clock() });
  const auKey = await createKey({ home: f.authorityHome, seed: seeds.authority, naming: { name: 'Jonas Berg', org: 'Foreign Ministry of Justice (MLA unit)', role: 'receiving authority' }, passphrase: null, now: clock() });
  fs.copyFileSync(exKey.pubFile, f.examinerPub);
  fs.copyFileSync(auKey.pubFile, f.authorityPub);
  const examiner = signerFromSeed(seeds.examiner, exKey.identity);
  const authority = signerFromSeed(seeds.authority, auKey.identity);
  add({
    step: 'identities',
    line: `made two throwaway keys without passphrase: examiner Ana Lima (key id ${exKey.identity.keyid}) and foreign authority Jonas Berg (key id ${auKey.identity.keyid}); each exchanged its .pub`,
    data: { examiner: keyJson(exKey), authority: keyJson(auKey) },
  });

  // 3. The case, in the examiner's ledger.
  await createCase(homeLedger(f.examinerHome, true)!, { id: CASE_ID, title: 'Demo: ransomware intrusion at Example Ltd', authority: 'Search warrant 41/2026 (demo)' });
  add({ step: 'case', line: `opened case ${CASE_ID} in the examiner's ledger`, data: { case: CASE_ID } });

  // 4. Seal.
  const sealed = await seal({
    items: [
      {
        path: f.image,
        id: 'laptop-disk',
        description: 'Internal SSD of the suspect laptop, raw image',
        meta: { make: 'Samsung', model: 'PM9A1 512GB', serial: 'S4EVNX0N000000', acquisition: 'custody demo (generated)' },
      },
      { path: f.export, id: 'phone-export', description: 'Logical export of the suspect phone', meta: { device: 'Demo phone X1' } },
    ],
    out: f.bundle,
    caseId: CASE_ID,
    location: 'Police Forensic Lab, evidence room 2',
    algorithms: ['md5', 'sha1', 'sha256'],
    pieceSize: PIECE,
    signer: examiner,
    ledger: homeLedger(f.examinerHome),
    now: clock(),
  });
  const digest = sealed.bundleDigest;
  add({
    step: 'seal',
    line: `sealed 2 items into ${path.basename(f.bundle)} (pieces of 1 MiB); bundle digest ${digest}`,
    data: { bundle: sealed.file, bundleDigest: digest, bundleName: sealed.bagName, case: CASE_ID, files: sealed.manifest.files.length, bytes: sealed.payloadBytes },
  });

  // 5. Trust: the authority adds the examiner's key (in real life after confirming the fingerprint by phone).
  const trust = await addTrustedKey(homeLedger(f.authorityHome, true)!, readKeyishFile(f.examinerPub), f.examinerPub);
  add({
    step: 'trust',
    line: `the authority trusts the examiner's key (fingerprint ${trust.identity.fingerprint}, confirmed out of band)`,
    data: { added: trust.added, fingerprint: trust.identity.fingerprint, keyid: trust.identity.keyid, name: trust.identity.name },
  });
  const authorityTrusts = [parsePublicKeyFile(readKeyishFile(f.examinerPub)).publicKey];

  // 6. Transfer.
  const sent = await transfer({
    bundle: f.bundle,
    signer: examiner,
    to: auKey.identity,
    reason: 'Mutual legal assistance request MLA-2026-77 (demo)',
    authority: 'MLA treaty, art. 3',
    location: 'Police Forensic Lab, dispatch',
    condition: 'bundle on encrypted USB drive, tamper-evident bag 0042',
    ledger: homeLedger(f.examinerHome),
    now: clock(),
  });
  const seq = sent.record.predicate.seq;
  add({ step: 'transfer', line: `Ana Lima transferred custody to Jonas Berg (record ${seq} appended to the bundle)`, data: { seq, member: sent.record.member, at: sent.record.predicate.at } });

  // 7. Receive: verifies the whole bundle, then countersigns.
  const received = await receive({
    bundle: f.bundle,
    input: await openBundleInput(f.bundle),
    signer: authority,
    condition: 'bag 0042 intact, seal unbroken',
    location: 'Ministry of Justice, evidence office',
    trusted: authorityTrusts,
    ledger: homeLedger(f.authorityHome, true),
    now: clock(),
  });
  if (!received.received) expectVerified('receive', received.verdict);
  const receiptRecord = received.received ? received.record : undefined;
  add({
    step: 'receive',
    line: 'Jonas Berg verified the whole bundle and signed its receipt (record 2), importing it into his ledger',
    data: { received: received.received, seq: receiptRecord?.seq, at: receiptRecord?.predicate.at },
  });

  // 8. Verify, as anyone with the examiner's fingerprint can, offline.
  const verified = expectVerified('verify', await verifyInput({ input: await openBundleInput(f.bundle), trusted: authorityTrusts, mode: 'pieces', now: clock() }));
  add({ step: 'verify', line: `${c.green('VERIFIED')}: ${verified.checks.length} checks passed (hashes, pieces, signatures, trust, chain)`, data: { verdict: verdictJson(verified) } });

  // 9. The log.
  const { timeline } = await bundleLog({ bundle: f.bundle, trusted: authorityTrusts, now: clock() });
  if (timeline.verdict.error) throw new CustodyError('INTERNAL', `demo step "log" failed unexpectedly: ${timeline.verdict.error.message}`);
  add({ step: 'log', line: 'the chain of custody:', detail: timelineText(au, timeline).map((l) => `  ${l}`), data: { records: timeline.verdict.records.length } });

  // 10. Tamper with a COPY: flip one byte of the disk image inside the tar.
  fs.copyFileSync(f.bundle, f.tampered);
  const at = await imageByteOffset(f.tampered, 'laptop-disk/laptop-disk.dd', TAMPER_IMAGE_OFFSET);
  flipByte(f.tampered, at);
  add({
    step: 'tamper',
    line: `copied the bundle and flipped one bit of laptop-disk.dd (image byte ${TAMPER_IMAGE_OFFSET}, tar offset ${at}) in ${path.basename(f.tampered)}`,
    data: { file: f.tampered, imageOffset: TAMPER_IMAGE_OFFSET, tarOffset: at },
  });

  // 11. Verify the tampered copy: it must fail, naming the damaged piece.
  const bad = await verifyInput({ input: await openBundleInput(f.tampered), trusted: authorityTrusts, mode: 'pieces', now: clock() });
  const err = bad.error;
  if (!err || err.code !== 'HASH_MISMATCH' || !err.range || !(err.range[0] <= TAMPER_IMAGE_OFFSET && TAMPER_IMAGE_OFFSET <= err.range[1])) {
    throw new CustodyError('INTERNAL', `demo: verifying the tampered copy did not report the damaged piece (${err ? `${err.code}: ${err.message}` : 'it verified'})`);
  }
  add({
    step: 'verify-tampered',
    line: `${c.red('NOT VERIFIED')} (as expected): ${err.message}`,
    data: { expectedFailure: true, error: { code: err.code, message: err.message, member: err.member, item: err.item, range: err.range } },
  });

  // 12. The printable reports.
  const report = async (bundle: string, out: string) =>
    writeReport({ input: await openBundleInput(bundle), bundleFile: bundle, outputs: [{ out, render: (v, c) => renderReport(v, c) }], trusted: authorityTrusts, now: clock() });
  const rep = await report(f.bundle, f.report);
  if (!rep.verdict.ok) throw new CustodyError('INTERNAL', `demo: the report's verification failed: ${rep.verdict.error?.message}`);
  const badRep = await report(f.tampered, f.tamperedReport);
  if (badRep.verdict.ok) throw new CustodyError('INTERNAL', 'demo: the tampered copy verified when its report was made');
  add({
    step: 'report',
    line: `wrote the chain-of-custody report ${path.basename(f.report)} (VERIFIED) and ${path.basename(f.tamperedReport)} (NOT VERIFIED)`,
    data: { report: f.report, tamperedReport: f.tamperedReport },
  });

  return { dir, steps, files: f };
}

/** The tar offset of byte `offset` of the payload file `rel` (data/<rel>), found by a header walk. */
async function imageByteOffset(bundle: string, rel: string, offset: number): Promise<number> {
  const fh = await fs.promises.open(bundle, 'r');
  try {
    const { members } = await walkHeaders(fh, (await fh.stat()).size);
    const m = members.find((x) => x.name.endsWith(`/data/${rel}`));
    if (!m || offset >= m.size) throw new CustodyError('INTERNAL', `demo: ${rel} not found in ${bundle}`);
    return m.dataOffset + offset;
  } finally {
    await fh.close();
  }
}

function flipByte(file: string, at: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0] = b[0]! ^ 0x01;
    fs.writeSync(fd, b, 0, 1, at);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
