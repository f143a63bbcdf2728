/**
 * Bundle-level test fixtures: seal small bundles in-process with fixed keys,
 * take a good bundle apart into members and put it back together, and derive
 * hostile variants from it — each paired with the error code and the reason
 * verify must give. Tar-level hostile constructs come from hostile-tar.ts and
 * are spliced into a real bundle here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { HashEngine } from '../../src/core/engine.js';
import type { Algo } from '../../src/core/algorithms.js';
import { signerFromSeed, type Signer } from '../../src/custody/identity.js';
import { writeFileAtomically } from '../../src/bundle/atomic-output.js';
import { collectItems, type ItemRequest } from '../../src/bundle/collect-items.js';
import { bagNameFromOut } from '../../src/bundle/layout.js';
import { writeBundle, type SealResult } from '../../src/bundle/seal.js';
import { TarWriter, encodeFileMember } from '../../src/bundle/tar-writer.js';
import { encodeHeader, END_OF_ARCHIVE } from '../../src/bundle/tar-header.js';
import { readTarStrict } from '../../src/bundle/tar-reader.js';
import { verifyBundle, type BundleVerdict } from '../../src/bundle/verify.js';
import { HOSTILE_CASES, concat, fixChecksum, member, setField } from './hostile-tar.js';

export const SEALER: Signer = signerFromSeed(new Uint8Array(32).fill(7), { name: 'Ann Examiner', org: 'Police Lab', role: 'examiner' });
export const MALLORY: Signer = signerFromSeed(new Uint8Array(32).fill(9), { name: 'Mallory', org: 'Elsewhere' });

/** Writes files under `dir`: keys are relative paths, values contents. */
export function writeTree(dir: string, files: Record<string, string | Uint8Array>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
}

export interface SealFixtureOptions {
  signer?: Signer;
  algorithms?: Algo[];
  pieceSize?: number;
  caseId?: string;
  out?: string;
}

/** Seals `requests` with the library (no CLI) into `dir/<out>`; returns the path, bytes and result. */
export async function sealFixture(
  engine: HashEngine,
  dir: string,
  requests: ItemRequest[],
  o: SealFixtureOptions = {},
): Promise<{ file: string; bytes: Uint8Array; result: SealResult }> {
  const file = path.join(dir, o.out ?? 'bundle.tar');
  const items = await collectItems(requests);
  const result = await writeFileAtomically(file, true, (fd) =>
    writeBundle(new TarWriter(fd), {
      engine,
      signer: o.signer ?? SEALER,
      items,
      bagName: bagNameFromOut(path.basename(file)),
      bundleFile: path.basename(file),
      caseInfo: { id: o.caseId ?? 'CASE-1', authority: 'Court of Testing' },
      algorithms: o.algorithms ?? ['md5', 'sha1', 'sha256'],
      pieceSize: o.pieceSize ?? 4096,
      toolVersion: '0.0.0-test',
      location: 'Lab 1',
      now: new Date('2026-11-27T14:03:00.000Z'),
    }),
  );
  return { file, bytes: new Uint8Array(fs.readFileSync(file)), result };
}

export async function* chunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

export function verifyBytes(
  engine: HashEngine,
  bytes: Uint8Array,
  o: { trusted?: Uint8Array[]; chunk?: number; allowUntrusted?: boolean; strictTrust?: boolean } = {},
): Promise<BundleVerdict> {
  return verifyBundle(chunks(bytes, o.chunk ?? 64 * 1024), {
    engine,
    trusted: o.trusted ?? [SEALER.identity.publicKey],
    allowUntrusted: o.allowUntrusted ?? false,
    strictTrust: o.strictTrust ?? false,
  });
}

export interface Member {
  name: string;
  data: Uint8Array;
}

export async function membersOf(bytes: Uint8Array): Promise<{ members: Member[]; endOfData: number }> {
  const reader = readTarStrict(chunks(bytes, 1 << 20));
  const members: Member[] = [];
  for await (const e of reader) {
    const parts: Uint8Array[] = [];
    for await (const c of e.body()) parts.push(c.slice());
    members.push({ name: e.name, data: concat(...parts) });
  }
  return { members, endOfData: reader.endOfData! };
}

/** A canonical tar of the members (what our writer would produce). */
export function buildTar(members: Member[]): Uint8Array {
  return concat(...members.map((m) => encodeFileMember(encodeHeader({ name: m.name, type: 'file', size: m.data.length }), m.data)), END_OF_ARCHIVE);
}

export interface HostileBundle {
  id: string;
  bytes: Uint8Array;
  /** The error code verify must give ('' = any verification code). */
  code: string;
  reason: RegExp;
}

const flip = (b: Uint8Array, at: number): Uint8Array => {
  const c = b.slice();
  c[at]! ^= 0x01;
  return c;
};

/**
 * Bundle-level hostile cases from a good bundle whose first payload file is
 * at least 3 pieces long (`piece` bytes each); `resealedByMallory` is the
 * same evidence sealed by an untrusted key.
 */
export async function hostileBundles(good: Uint8Array, piece: number, resealedByMallory: Uint8Array): Promise<HostileBundle[]> {
  const { members, endOfData } = await membersOf(good);
  const bag = members[0]!.name.split('/')[0]!;
  const idx = (rel: string) => members.findIndex((m) => m.name === `${bag}/${rel}`);
  const firstData = members.findIndex((m) => m.name.startsWith(`${bag}/data/`));
  const dataName = members[firstData]!.name.slice(bag.length + 1);
  const withMembers = (f: (ms: Member[]) => void) => {
    const ms = members.map((m) => ({ ...m }));
    f(ms);
    return buildTar(ms);
  };
  const editMember = (rel: string, edit: (d: Uint8Array) => Uint8Array) =>
    withMembers((ms) => {
      const i = ms.findIndex((m) => m.name === `${bag}/${rel}`);
      ms[i] = { name: ms[i]!.name, data: edit(ms[i]!.data) };
    });
  const prefix = good.subarray(0, endOfData);
  const headerAt = new Map<string, number>();
  for await (const e of readTarStrict(chunks(good, 1 << 20))) headerAt.set(e.name, e.headerOffset);
  const patchHeader = (name: string, off: number, len: number, value: string): Uint8Array => {
    const b = good.slice();
    const h = b.subarray(headerAt.get(name)!, headerAt.get(name)! + 512);
    setField(h, off, len, value);
    fixChecksum(h);
    return b;
  };
  const cases: HostileBundle[] = [
    {
      id: 'flipped data byte in the second piece',
      bytes: editMember(dataName, (d) => flip(d, piece + 5)),
      code: 'HASH_MISMATCH',
      reason: new RegExp(`${dataName.replace(/[.]/g, '\\.')} \\(item [^)]+\\): \\w+ differs .*first differing piece: bytes ${piece}-${2 * piece - 1}`),
    },
    { id: 'flipped manifest', bytes: editMember('manifest-sha256.txt', (d) => flip(d, 3)), code: 'HASH_MISMATCH', reason: /tag file manifest-sha256\.txt does not match/ },
    { id: 'flipped md5 manifest', bytes: editMember('manifest-md5.txt', (d) => flip(d, 3)), code: 'HASH_MISMATCH', reason: /tag file manifest-md5\.txt does not match/ },
    { id: 'flipped custody/manifest.json', bytes: editMember('custody/manifest.json', (d) => flip(d, 40)), code: 'HASH_MISMATCH', reason: /tag file custody\/manifest\.json does not match/ },
    { id: 'flipped pieces file', bytes: editMember('custody/pieces-sha256.txt', (d) => flip(d, 1)), code: 'HASH_MISMATCH', reason: /tag file custody\/pieces-sha256\.txt/ },
    { id: 'flipped VERIFY.txt', bytes: editMember('VERIFY.txt', (d) => flip(d, 10)), code: 'HASH_MISMATCH', reason: /tag file VERIFY\.txt/ },
    { id: 'flipped tagmanifest', bytes: editMember('tagmanifest-sha256.txt', (d) => flip(d, 0)), code: 'HASH_MISMATCH', reason: /does not match its SHA-256 in tagmanifest/ },
    { id: 'flipped raw signature', bytes: editMember('custody/seal.sig', (d) => flip(d, 10)), code: 'SIGNATURE_ERROR', reason: /custody\/seal\.sig does not verify/ },
    { id: 'flipped minisign signature', bytes: editMember('custody/seal.minisig', (d) => flip(d, d.indexOf(10) + 20)), code: 'SIGNATURE_ERROR', reason: /minisig does not verify/ },
    {
      id: 'changed minisign untrusted comment',
      bytes: editMember('custody/seal.minisig', (d) => flip(d, 25)),
      code: 'MALFORMED_BUNDLE',
      reason: /minisig is not in the form custody writes/,
    },
    { id: 'flipped seal record', bytes: editMember('custody/chain/0000-seal.dsse.json', (d) => flip(d, 30)), code: '', reason: /record 0000|DSSE|seal record|envelope/ },
    { id: 're-sealed by an untrusted key', bytes: resealedByMallory, code: 'UNTRUSTED_KEY', reason: /sealer's key .* is not trusted/ },
    { id: 'removed payload member', bytes: withMembers((ms) => ms.splice(firstData, 1)), code: '', reason: /./ },
    {
      id: 'added payload member',
      bytes: withMembers((ms) => ms.splice(firstData, 0, { name: `${bag}/data/extra/evil.txt`, data: new TextEncoder().encode('planted\n') })),
      code: 'SIZE_MISMATCH',
      reason: /Payload-Oxum/,
    },
    {
      id: 'renamed payload member',
      bytes: withMembers((ms) => (ms[firstData] = { ...ms[firstData]!, name: `${ms[firstData]!.name}.renamed` })),
      code: 'MALFORMED_BUNDLE',
      reason: /not listed in manifest-/,
    },
    {
      id: 'added member after the records',
      bytes: withMembers((ms) => ms.push({ name: `${bag}/data/late.txt`, data: new TextEncoder().encode('late\n') })),
      code: 'MALFORMED_BUNDLE',
      reason: /unexpected member data\/late\.txt after the signatures/,
    },
    {
      id: 'extra tag file',
      bytes: withMembers((ms) => ms.splice(idx('VERIFY.txt'), 0, { name: `${bag}/README.txt`, data: new TextEncoder().encode('hi\n') })),
      code: 'MALFORMED_BUNDLE',
      reason: /unexpected member README\.txt where VERIFY\.txt must come/,
    },
    {
      id: 'removed tag file',
      bytes: withMembers((ms) => ms.splice(idx('custody/sealer.pem'), 1)),
      code: 'MALFORMED_BUNDLE',
      reason: /where custody\/sealer\.pem must come/,
    },
    {
      id: 'reordered tag files',
      bytes: withMembers((ms) => {
        const a = idx('manifest-md5.txt');
        const b = idx('manifest-sha1.txt');
        [ms[a], ms[b]] = [ms[b]!, ms[a]!];
      }),
      code: 'MALFORMED_BUNDLE',
      reason: /unexpected member manifest-sha1\.txt where manifest-md5\.txt must come/,
    },
    {
      id: 'bag-info before bagit.txt',
      bytes: withMembers((ms) => ([ms[0], ms[1]] = [ms[1]!, ms[0]!])),
      code: 'MALFORMED_BUNDLE',
      reason: /not a custody bundle \(no <name>\/bagit\.txt first\)/,
    },
    { id: 'removed seal record', bytes: withMembers((ms) => ms.pop()), code: 'MALFORMED_BUNDLE', reason: /no custody records/ },
    {
      id: 'seal record renamed out of sequence',
      bytes: withMembers((ms) => (ms[ms.length - 1] = { ...ms[ms.length - 1]!, name: `${bag}/custody/chain/0001-seal.dsse.json` })),
      code: 'MALFORMED_BUNDLE',
      reason: /out of sequence/,
    },
    {
      id: 'payload in a directory member',
      bytes: concat(prefix, encodeHeader({ name: `${bag}/data/dir/`, type: 'dir', size: 0 }), END_OF_ARCHIVE),
      code: 'MALFORMED_BUNDLE',
      reason: /unexpected directory member/,
    },
    // Duplicates of real bundle members (the tar-level cases duplicate their own ok.txt).
    { id: 'duplicate member', bytes: concat(prefix, member(`${bag}/bagit.txt`, 'BagIt-Version: 1.0\n'), END_OF_ARCHIVE), code: 'UNSAFE_BUNDLE', reason: /duplicate name/ },
    { id: 'case-only twin of a tag file', bytes: concat(prefix, member(`${bag}/BAGIT.TXT`, 'x'), END_OF_ARCHIVE), code: 'MALFORMED_BUNDLE', reason: /unexpected member BAGIT\.TXT after the signatures/ },
    { id: 'member inside a file', bytes: concat(prefix, member(`${bag}/bagit.txt/inner`, 'x'), END_OF_ARCHIVE), code: 'UNSAFE_BUNDLE', reason: /which is a regular file/ },
    // Header fields our writer fixes (mode 0644, mtime 0) changed with the checksum fixed: a forger's edit, not a bit flip.
    { id: 'payload header mode changed (checksum fixed)', bytes: patchHeader(`${bag}/${dataName}`, 100, 8, '0000755\u0000'), code: 'UNSAFE_BUNDLE', reason: /not in the canonical form/ },
    { id: 'tag file header mtime changed (checksum fixed)', bytes: patchHeader(`${bag}/bag-info.txt`, 136, 12, '14000000000\u0000'), code: 'UNSAFE_BUNDLE', reason: /not in the canonical form/ },
    {
      // 70 junk "records" of 1 MiB each: refused once they pass the cap, not all held in memory first.
      id: 'custody records over the size cap',
      bytes: concat(
        prefix,
        ...Array.from({ length: 70 }, (_, i) => member(`${bag}/custody/chain/${String(i + 1).padStart(4, '0')}-transfer.dsse.json`, new Uint8Array(1 << 20).fill(0x7b))),
        END_OF_ARCHIVE,
      ),
      code: 'MALFORMED_BUNDLE',
      reason: /custody records are more than 67108864 bytes in all \(at custody\/chain\/0064-transfer\.dsse\.json\)/,
    },
    { id: 'truncated bundle', bytes: good.subarray(0, good.length - 700), code: 'MALFORMED_BUNDLE', reason: /truncated|without the end-of-archive/ },
    { id: 'appended garbage', bytes: concat(good, new TextEncoder().encode('x')), code: 'UNSAFE_BUNDLE', reason: /data after the end-of-archive marker/ },
  ];
  // Every strict-reader case, spliced after the bundle's last member (each
  // hostile-tar case is `ok.txt` (1024 bytes) + the construct + the rest).
  const skip = new Set(['duplicateName', 'duplicateFileAndDir', 'memberInsideFile']);
  // In these two the refusal comes while reading a member's data: the member
  // must be one verify reads, so b.txt becomes a (next) record member.
  const asRecord = new Set(['nonZeroPadding', 'truncatedInData']);
  const recordName = `${bag}/custody/chain/0001-transfer.dsse.json`;
  for (const c of HOSTILE_CASES) {
    if (skip.has(c.id)) continue;
    let construct = c.bytes().subarray(1024);
    let reason = c.id === 'dataAfterZeroPadding' ? /data after the end-of-archive marker/ : c.rule;
    if (asRecord.has(c.id)) {
      construct = construct.slice();
      setField(construct, 0, 100, recordName);
      fixChecksum(construct.subarray(0, 512));
      reason = new RegExp(c.rule.source.replace(/b\\?\.txt/, recordName.replace(/[.]/g, '\\.')));
    }
    cases.push({ id: `tar: ${c.id}`, bytes: concat(prefix, construct), code: c.code, reason });
  }
  return cases;
}
