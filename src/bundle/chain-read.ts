/**
 * Reads what transfer and log need from a bundle — the bundle digest, the
 * sealer's key, the case and the custody records — WITHOUT reading the
 * evidence: a header walk that seeks over member data, then pread of the few
 * small tag and record members. Appending a transfer to a 500 GB bundle
 * reads a few kilobytes, not 500 GB.
 *
 * This is not a verification of the evidence (verify and receive do that).
 * It applies the strict tar header and name rules (tar-header, tar-names),
 * the member-order rules that matter for the chain (the bag folder first,
 * records last and in sequence), and checks the raw signature over the
 * tagmanifest with the key in custody/sealer.pem, so that a chain is never
 * judged against a sealer key swapped into an otherwise intact bundle.
 */
import { recordNumber } from '../custody/record.js';
import type { FileHandle } from 'node:fs/promises';
import { CustodyError } from '../core/errors.js';
import { verifyEd25519 } from '../custody/ed25519.js';
import { spkiPemToPublicKey } from '../custody/pem.js';
import { decodeUtf8, parseBagInfo, type BagInfo } from './bag-info.js';
import { parseCustodyManifest, type CustodyManifest } from './custody-manifest.js';
import * as L from './layout.js';
import { parseManifest } from './manifests.js';
import { BlockReader, fileSource, locateEndOfData, preadAt, type LocatedEnd, type LocatedMember } from './tar-locate.js';
import { openForReading } from '../core/open-file.js';
import { notABundle, sniffNotABundle } from './not-a-bundle.js';
import { BLOCK } from './tar-header.js';
import { sha256Hex } from '../core/digest.js';

export type MemberLocation = LocatedMember;

export interface BundleChain {
  bagName: string;
  /** lowercase hex SHA-256 of tagmanifest-sha256.txt */
  bundleDigest: string;
  info: BagInfo;
  sealerPublicKey: Uint8Array;
  /** record members in tar order, names relative to the bag root (as checkChain and verify name them) */
  envelopes: { member: string; bytes: Uint8Array }[];
  /** offset of the end-of-archive marker (appendMembers' expectEndOfData) */
  endOfData: number;
  /** the header walk this read made (appendMembers reuses it when the read was made under its lock) */
  walk: LocatedEnd;
  /** the file walked (device and inode): appendMembers' walkedBefore */
  file: { dev: bigint; ino: bigint };
  /** reads custody/manifest.json on demand (only needed to import into a ledger) */
  manifest(): Promise<CustodyManifest>;
}

const SMALL = 1 << 20;

/** The tag files this read looks up by name. */
const TAG_FILES_READ = new Set([L.TAGMANIFEST, L.BAG_INFO_TXT, L.SEALER_PEM, L.SEAL_SIG, L.CUSTODY_MANIFEST_JSON]);
const LARGE = 64 << 20;

const malformed = (message: string, member?: string): CustodyError =>
  new CustodyError('MALFORMED_BUNDLE', message, member === undefined ? {} : { member });

/**
 * Header-only walk: every member's name, size and data offset, and where the
 * end marker starts (tar-locate's walk, which append uses too).
 */
export const walkHeaders = locateEndOfData;

async function readMember(src: FileHandle | BlockReader, m: MemberLocation, rel: string, cap = SMALL): Promise<Uint8Array> {
  if (m.size > cap) throw malformed(`${rel} is ${m.size} bytes, more than the ${cap} bytes it may have`, rel);
  // Small members through the walk's window (the records sit together at the end): a copy, as the window moves on.
  const bytes = src instanceof BlockReader ? (await src.at(m.dataOffset, m.size)).slice() : await preadAt(src, m.size, m.dataOffset);
  if (bytes.length !== m.size) throw malformed(`the bundle is truncated inside ${rel}`, rel);
  return bytes;
}


/**
 * The member-order rules, applied member by member during the header walk
 * (LocateOptions.keep), which keeps only the members read below: the first
 * (`<bag>/bagit.txt`), the tag files looked up by name and the records.
 * The first rule broken is kept and thrown once the walk is done, so that a
 * bad header anywhere is still reported before it, as when the rules ran
 * over the whole member list.
 */
class MemberOrder {
  /** The bag folder's name, once the first member is `<bag>/bagit.txt` (a file, the name a valid id). */
  bagName: string | undefined;
  refusal: CustodyError | undefined;
  /** Only the tag files read below are kept by name: a bundle of 200,000 files does not need a map of them all. */
  readonly byRel = new Map<string, MemberLocation>();
  readonly envelopeMembers: { rel: string; m: MemberLocation }[] = [];
  private seen = 0;
  private inBag = '';
  private records = '';
  private payload = '';

  readonly keep = (name: string, type: 'file' | 'dir', size: number, dataOffset: number): boolean => {
    if (this.seen++ === 0) {
      const bag = /^([^/]+)\/bagit\.txt$/.exec(name);
      if (!bag || type !== 'file' || !L.isValidId(bag[1]!)) return true;
      this.bagName = bag[1]!;
      this.inBag = `${this.bagName}/`;
      this.records = `${this.bagName}/custody/chain/`;
      this.payload = `${this.bagName}/data/`;
    }
    if (this.bagName === undefined || this.refusal) return false;
    if (!name.startsWith(this.inBag) || type !== 'file') {
      this.refusal = malformed(`unexpected member ${name} (outside the bag folder, or a directory)`, name);
      return false;
    }
    const envelopes = this.envelopeMembers;
    // The payload (most members): neither a tag file nor a record.
    if (envelopes.length === 0 && name.startsWith(this.payload)) return false;
    const rel = name.slice(this.inBag.length);
    const named = name.startsWith(this.records) ? L.parseChainMemberName(rel) : undefined;
    if (named) {
      if (named.seq !== envelopes.length) {
        this.refusal = malformed(`record member ${rel} out of sequence: expected number ${recordNumber(envelopes.length)}`, rel);
        return false;
      }
      envelopes.push({ rel, m: { name, type, size, dataOffset } });
      return true;
    }
    if (envelopes.length > 0) {
      this.refusal = malformed(`unexpected member ${rel} after the custody records (only custody/chain/NNNN-<action>.dsse.json may follow)`, rel);
      return false;
    }
    if (!TAG_FILES_READ.has(rel)) return false;
    this.byRel.set(rel, { name, type, size, dataOffset });
    return true;
  };
}

/**
 * Reads the chain of the bundle at `bundlePath`. `endOfData`: read only the
 * bundle as it was before an interrupted append (the journal's offset).
 */
export async function readBundleChain(bundlePath: string, view: { endOfData?: number } = {}): Promise<BundleChain> {
  const fh = await openForReading(bundlePath);
  try {
    const st = await fh.stat({ bigint: true });
    const size = Number(st.size);
    const reader = new BlockReader(fileSource(fh), size);
    const order = new MemberOrder();
    let walked: LocatedEnd;
    try {
      walked = await walkHeaders(fh, size, { stopAt: view.endOfData, reader, keep: order.keep });
    } catch (e) {
      // Failing at the first header: say what the file is, not which header field is wrong.
      const kind = sniffNotABundle(await preadAt(fh, BLOCK, 0));
      if (kind !== undefined) throw notABundle(bundlePath, kind, e);
      throw e;
    }
    const { endOfData } = walked;
    const bagName = order.bagName;
    if (bagName === undefined) throw notABundle(bundlePath, 'no-bagit');
    if (order.refusal) throw order.refusal;
    const { byRel, envelopeMembers } = order;
    const need = (rel: string): MemberLocation => {
      const m = byRel.get(rel);
      if (!m) throw malformed(`member ${rel} is missing`, rel);
      return m;
    };
    const tagmanifest = await readMember(reader, need(L.TAGMANIFEST), L.TAGMANIFEST);
    const listed = new Map(parseManifest(tagmanifest, 'sha256', L.TAGMANIFEST).map((e) => [e.path, e.digest]));
    // Tag files read here must be the ones the signed tagmanifest lists (a swapped sealer key, a forged case id).
    const tagFile = async (h: FileHandle | BlockReader, rel: string, cap = SMALL): Promise<Uint8Array> => {
      const bytes = await readMember(h, need(rel), rel, cap);
      if (listed.get(rel) !== sha256Hex(bytes)) {
        throw new CustodyError('HASH_MISMATCH', `tag file ${rel} does not match its SHA-256 in ${L.TAGMANIFEST}`, { member: rel });
      }
      return bytes;
    };
    const info = parseBagInfo(await tagFile(reader, L.BAG_INFO_TXT));
    const pemBytes = await tagFile(reader, L.SEALER_PEM);
    let sealerPublicKey: Uint8Array;
    try {
      sealerPublicKey = spkiPemToPublicKey(decodeUtf8(pemBytes, L.SEALER_PEM));
    } catch (e) {
      throw malformed(`${L.SEALER_PEM}: ${(e as Error).message}`, L.SEALER_PEM);
    }
    const sig = await readMember(reader, need(L.SEAL_SIG), L.SEAL_SIG);
    if (sig.length !== 64 || !verifyEd25519(sig, tagmanifest, sealerPublicKey)) {
      throw new CustodyError('SIGNATURE_ERROR', `${L.SEAL_SIG} does not verify with the sealer's key`, { member: L.SEAL_SIG });
    }
    const envelopes: BundleChain['envelopes'] = [];
    let chainBytes = 0;
    for (const { rel, m } of envelopeMembers) {
      chainBytes += m.size;
      if (chainBytes > L.MAX_CHAIN_BYTES) throw malformed(`the custody records are more than ${L.MAX_CHAIN_BYTES} bytes in all (at ${rel})`, rel);
      envelopes.push({ member: rel, bytes: await readMember(reader, m, rel) });
    }
    need(L.CUSTODY_MANIFEST_JSON);
    const result: BundleChain = {
      bagName,
      bundleDigest: sha256Hex(tagmanifest),
      info,
      sealerPublicKey,
      envelopes,
      endOfData,
      walk: walked,
      file: { dev: st.dev, ino: st.ino },
      manifest: async () => {
        // Read on demand: most callers never need it.
        const h = await openForReading(bundlePath);
        try {
          const bytes = await tagFile(h, L.CUSTODY_MANIFEST_JSON, LARGE);
          return parseCustodyManifest(bytes);
        } finally {
          await h.close();
        }
      },
    };
    return result;
  } finally {
    await fh.close();
  }
}
