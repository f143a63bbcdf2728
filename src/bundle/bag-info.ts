/**
 * bagit.txt and bag-info.txt (RFC 8493 §2.1.1, §2.2.2): writer and strict
 * parser. bag-info comes before the payload in the tar, so a streaming
 * verifier learns the algorithms and the piece size before the evidence
 * arrives. The parser accepts only what our writer produces: a hostile
 * bag-info must not be able to make the verifier compute less than the
 * sealer claimed (e.g. by repeating a label or folding a line).
 */
import { CustodyError } from '../core/errors.js';
import { checkText } from '../core/text.js';
import { BAG_INFO_TXT, BAGIT_TXT, BUNDLE_VERSION } from './layout.js';

export const BAGIT_TXT_TEXT = 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n';

/** The smallest piece size seal writes and verify accepts (bounds the verifier's memory per byte of data). */
export const MIN_PIECE_SIZE = 4096;

/** Algorithms a bundle may use, in the names of their manifest files. */
export const BUNDLE_ALGOS = ['md5', 'sha1', 'sha256', 'sha512', 'sha3-256', 'blake3'] as const;

export interface BagInfo {
  sourceOrganization?: string;
  contactName: string;
  caseId: string;
  baggingDate: string; // YYYY-MM-DD
  payloadBytes: number;
  payloadFiles: number;
  softwareAgent: string;
  algorithms: string[];
  pieceSize: number;
}

function checkValue(label: string, v: string): string {
  // A CR or LF would start a new label: a forged field under the sealer's signature.
  if (v !== v.trim() || v.length === 0) throw new CustodyError('USAGE', `${label} must be non-empty without leading or trailing spaces`);
  checkText(v, label, 'USAGE', { max: 65536 });
  return v;
}

export function bagInfoText(info: BagInfo): string {
  const lines: [string, string][] = [];
  if (info.sourceOrganization !== undefined) lines.push(['Source-Organization', info.sourceOrganization]);
  lines.push(
    ['Contact-Name', info.contactName],
    ['External-Identifier', info.caseId],
    ['Bagging-Date', info.baggingDate],
    ['Payload-Oxum', `${info.payloadBytes}.${info.payloadFiles}`],
    ['Bag-Software-Agent', info.softwareAgent],
    ['Custody-Bundle-Version', String(BUNDLE_VERSION)],
    ['Custody-Algorithms', info.algorithms.join(',')],
    ['Custody-Piece-Size', String(info.pieceSize)],
  );
  return lines.map(([k, v]) => `${k}: ${checkValue(k, v)}\n`).join('');
}

function malformed(msg: string, member = BAG_INFO_TXT): CustodyError {
  return new CustodyError('MALFORMED_BUNDLE', `${member}: ${msg}`, { member });
}

/** Decodes UTF-8 strictly: invalid bytes are refused, not replaced (a replaced byte would hide a change). */
export function decodeUtf8(bytes: Uint8Array, member: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw malformed('not valid UTF-8', member);
  }
}

/** Splits LF-terminated lines; refuses CR, a missing final newline and empty lines. */
export function strictLines(text: string, member: string, allowEmpty = false): string[] {
  if (text.length === 0) {
    if (allowEmpty) return [];
    throw malformed('empty', member);
  }
  if (text.includes('\r')) throw malformed('carriage return in a line (lines end with LF only)', member);
  if (!text.endsWith('\n')) throw malformed('the last line does not end with a newline', member);
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((l, i) => {
    if (l.length === 0) throw malformed(`line ${i + 1} is empty`, member);
  });
  return lines;
}

export function checkBagitTxt(bytes: Uint8Array): void {
  if (decodeUtf8(bytes, BAGIT_TXT) !== BAGIT_TXT_TEXT) {
    throw malformed('not the BagIt 1.0 declaration this tool writes', BAGIT_TXT);
  }
}

const ALLOWED = new Set([
  'Source-Organization',
  'Contact-Name',
  'External-Identifier',
  'Bagging-Date',
  'Payload-Oxum',
  'Bag-Software-Agent',
  'Custody-Bundle-Version',
  'Custody-Algorithms',
  'Custody-Piece-Size',
]);
const REQUIRED = [...ALLOWED].filter((l) => l !== 'Source-Organization');

function parseCount(label: string, s: string): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(s)) throw malformed(`${label} is not a decimal number`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw malformed(`${label} is too large`);
  return n;
}

export function parseBagInfo(bytes: Uint8Array): BagInfo {
  const fields = new Map<string, string>();
  for (const line of strictLines(decodeUtf8(bytes, BAG_INFO_TXT), BAG_INFO_TXT)) {
    const m = /^([A-Za-z][A-Za-z-]*): (\S(?:.*\S)?)$/.exec(line);
    if (!m) throw malformed(`line ${JSON.stringify(line.slice(0, 80))} is not "Label: value"`);
    const [, label, value] = m as unknown as [string, string, string];
    if (!ALLOWED.has(label)) throw malformed(`unexpected label ${label}`);
    if (fields.has(label)) throw malformed(`label ${label} appears twice`);
    fields.set(label, value);
  }
  for (const l of REQUIRED) if (!fields.has(l)) throw malformed(`missing label ${l}`);
  const get = (l: string) => fields.get(l)!;
  if (get('Custody-Bundle-Version') !== String(BUNDLE_VERSION)) {
    throw malformed(`Custody-Bundle-Version ${get('Custody-Bundle-Version')} is not supported (this tool reads version ${BUNDLE_VERSION})`);
  }
  const oxum = /^([0-9]+)\.([0-9]+)$/.exec(get('Payload-Oxum'));
  if (!oxum) throw malformed('Payload-Oxum is not <bytes>.<files>');
  const algorithms = get('Custody-Algorithms').split(',');
  const known = new Set<string>(BUNDLE_ALGOS);
  if (new Set(algorithms).size !== algorithms.length) throw malformed('Custody-Algorithms lists an algorithm twice');
  for (const a of algorithms) if (!known.has(a)) throw malformed(`unknown algorithm ${JSON.stringify(a)} in Custody-Algorithms`);
  // The tagmanifest and the stock-tool route (sha256sum -c) depend on SHA-256.
  if (!algorithms.includes('sha256')) throw malformed('Custody-Algorithms does not include sha256');
  const pieceSize = parseCount('Custody-Piece-Size', get('Custody-Piece-Size'));
  if (pieceSize !== 0 && pieceSize < MIN_PIECE_SIZE) throw malformed(`Custody-Piece-Size ${pieceSize} is below the minimum ${MIN_PIECE_SIZE}`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(get('Bagging-Date'))) throw malformed('Bagging-Date is not YYYY-MM-DD');
  const info: BagInfo = {
    contactName: get('Contact-Name'),
    caseId: get('External-Identifier'),
    baggingDate: get('Bagging-Date'),
    payloadBytes: parseCount('Payload-Oxum', oxum[1]!),
    payloadFiles: parseCount('Payload-Oxum', oxum[2]!),
    softwareAgent: get('Bag-Software-Agent'),
    algorithms,
    pieceSize,
  };
  if (fields.has('Source-Organization')) info.sourceOrganization = get('Source-Organization');
  return info;
}
