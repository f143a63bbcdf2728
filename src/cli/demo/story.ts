/**
 * `custody demo`: the whole story on generated evidence, in-process, with the
 * real command handlers (so the demo shows what the commands do, not a
 * re-enactment), in seconds.
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
import { walkHeaders } from '../../bundle/chain-read.js';
import { openLedger } from '../../ledger/index.js';
import { storeNewKey } from '../commands/key.js';
import { logCommand } from '../commands/log.js';
import { receiveCommand } from '../commands/receive.js';
import { sealCommand } from '../commands/seal.js';
import { transferCommand } from '../commands/transfer.js';
import { addTrust } from '../commands/trust.js';
import { verifyCommand } from '../commands/verify.js';
import { makeContext, type CliContext } from '../context.js';
import type { Outcome } from '../outcome.js';
import { writeReport } from '../report/report-command.js';
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
const PIECE = '1MiB';
/** Where the demo flips a byte of the disk image inside the tampered copy (in piece 6 of 1 MiB pieces). */
export const TAMPER_IMAGE_OFFSET = 6 * 1024 * 1024 + 4242;

/** Uses `dir` if it is empty or does not exist; refuses anything else (the demo must not mix with real files). */
export function prepareDir(dir: string): string {
  const abs = path.resolve(dir);
  if (fs.existsSync(abs)) {
    if (!fs.statSync(abs).isDirectory()) throw new CustodyError('EXISTS', `${dir} exists and is not a folder`, { hint: 'give --dir a new or empty folder' });
    if (fs.readdirSync(abs).length > 0) throw new CustodyError('EXISTS', `${dir} is not empty`, { hint: 'give --dir a new or empty folder' });
  } else {
    fs.mkdirSync(abs, { recursive: true });
  }
  return abs;
}

/** What a command returned, or the story stops: every step but the tampered verify must succeed. */
function expectOk(step: string, o: Outcome): Outcome {
  if (o.error) throw new CustodyError('INTERNAL', `demo step "${step}" failed unexpectedly: ${o.error.message}`, { cause: o.error });
  return o;
}

function contextFor(home: string, outer: CliContext): CliContext {
  // Quiet: no progress bars or notes from the inner commands; the demo narrates.
  return makeContext({ home, quiet: true, color: outer.opts.color });
}

export async function runDemo(outer: CliContext, dirArg: string, onStep: (s: DemoStep) => void = () => {}): Promise<DemoResult> {
  const dir = prepareDir(dirArg);
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
  add({
    step: 'evidence',
    line: `generated an 8 MiB raw disk image (MBR, one FAT32 partition, planted files) and a phone export folder (${exported.length} files, some nested) in ${f.evidence}`,
    data: { image: f.image, exportFolder: f.export, exportFiles: exported },
  });

  // 2. Two throwaway identities, each with its own home (keys, trust store, ledger).
  const ex = contextFor(f.examinerHome, outer);
  const au = contextFor(f.authorityHome, outer);
  const exKey = await storeNewKey(ex, new Uint8Array(randomBytes(32)), { name: 'Ana Lima', org: 'Police Forensic Lab', role: 'examiner', passphrase: false });
  const auKey = await storeNewKey(au, new Uint8Array(randomBytes(32)), { name: 'Jonas Berg', org: 'Foreign Ministry of Justice (MLA unit)', role: 'receiving authority', passphrase: false });
  fs.copyFileSync(String(exKey.data.pubFile), f.examinerPub);
  fs.copyFileSync(String(auKey.data.pubFile), f.authorityPub);
  const exKeyFile = String(exKey.data.keyFile);
  const auKeyFile = String(auKey.data.keyFile);
  add({
    step: 'identities',
    line: `made two throwaway keys without passphrase: examiner Ana Lima (key id ${exKey.data.keyid}) and foreign authority Jonas Berg (key id ${auKey.data.keyid}); each exchanged its .pub`,
    data: { examiner: exKey.data, authority: auKey.data },
  });

  // 3. The case, in the examiner's ledger.
  const ledger = openLedger(f.examinerHome);
  try {
    ledger.createCase({ id: CASE_ID, title: 'Demo: ransomware intrusion at Example Ltd', authority: 'Search warrant 41/2026 (demo)' });
  } finally {
    ledger.close();
  }
  add({ step: 'case', line: `opened case ${CASE_ID} in the examiner's ledger`, data: { case: CASE_ID } });

  // 4. Seal.
  const seal = expectOk(
    'seal',
    await sealCommand(ex, [f.image, f.export], {
      out: f.bundle,
      case: CASE_ID,
      item: ['laptop-disk', 'phone-export'],
      description: ['Internal SSD of the suspect laptop, raw image', 'Logical export of the suspect phone'],
      meta: ['laptop-disk:make=Samsung', 'laptop-disk:model=PM9A1 512GB', 'laptop-disk:serial=S4EVNX0N000000', 'laptop-disk:acquisition=custody demo (generated)', 'phone-export:device=Demo phone X1'],
      location: 'Police Forensic Lab, evidence room 2',
      piece: PIECE,
      key: exKeyFile,
    }),
  );
  const digest = String(seal.data.bundleDigest);
  add({ step: 'seal', line: `sealed 2 items into ${path.basename(f.bundle)} (pieces of ${PIECE}); bundle digest ${digest}`, data: seal.data });

  // 5. Trust: the authority adds the examiner's key (in real life after confirming the fingerprint by phone).
  const trust = expectOk('trust', addTrust(au, f.examinerPub, {}));
  add({ step: 'trust', line: `the authority trusts the examiner's key (fingerprint ${trust.data.fingerprint}, confirmed out of band)`, data: trust.data });

  // 6. Transfer.
  const transfer = expectOk(
    'transfer',
    await transferCommand(ex, f.bundle, {
      to: f.authorityPub,
      reason: 'Mutual legal assistance request MLA-2026-77 (demo)',
      authority: 'MLA treaty, art. 3',
      location: 'Police Forensic Lab, dispatch',
      condition: 'bundle on encrypted USB drive, tamper-evident bag 0042',
      key: exKeyFile,
    }),
  );
  add({ step: 'transfer', line: `Ana Lima transferred custody to Jonas Berg (record ${transfer.data.seq} appended to the bundle)`, data: transfer.data });

  // 7. Receive: verifies the whole bundle, then countersigns.
  const receive = expectOk(
    'receive',
    await receiveCommand(au, f.bundle, { condition: 'bag 0042 intact, seal unbroken', location: 'Ministry of Justice, evidence office', key: auKeyFile, trust: [] }),
  );
  add({ step: 'receive', line: 'Jonas Berg verified the whole bundle and signed its receipt (record 2), importing it into his ledger', data: receive.data });

  // 8. Verify, as anyone with the examiner's fingerprint can, offline.
  const verify = expectOk('verify', await verifyCommand(au, f.bundle, { trust: [], receipt: [] }));
  const checks = ((verify.data.verdict as { checks?: unknown[] }).checks ?? []).length;
  add({ step: 'verify', line: `${c.green('VERIFIED')}: ${checks} checks passed (hashes, pieces, signatures, trust, chain)`, data: verify.data });

  // 9. The log.
  const log = expectOk('log', await logCommand(au, f.bundle, { receipt: [] }));
  add({ step: 'log', line: 'the chain of custody:', detail: log.text.map((l) => `  ${l}`), data: log.data });

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
  const bad = await verifyCommand(au, f.tampered, { trust: [], receipt: [] });
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
  const rep = await writeReport(au, f.bundle, { html: f.report, trust: [], receipt: [] });
  if (!rep.verdict.ok) throw new CustodyError('INTERNAL', `demo: the report's verification failed: ${rep.verdict.error?.message}`);
  const badRep = await writeReport(au, f.tampered, { html: f.tamperedReport, trust: [], receipt: [] });
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
