/**
 * The textual header of the age v1 format (age-encryption.org/v1): the
 * version line, recipient stanzas, and the `---` line with the header MAC.
 *
 * Threat guarded against: two spellings of one header. The MAC covers the
 * header bytes as they were read, so a lenient parser (padding, stray CR,
 * non-canonical base64, short body lines in the middle) would let a header be
 * re-spelled without the MAC noticing a difference in what was parsed. Only
 * the one canonical encoding is accepted, as C2SP's test vectors require.
 */
import { base64nopad } from '@scure/base';
import { CustodyError } from '../../core/errors.js';
import { INTRO } from './intro.js';

export { INTRO };

/** A header longer than this is refused before it is parsed (memory stays flat on garbage input). */
export const MAX_HEADER_BYTES = 1 << 20;

export interface Stanza {
  type: string;
  args: string[];
  body: Uint8Array;
}

export interface ParsedHeader {
  stanzas: Stanza[];
  /** The header bytes the MAC covers: everything up to and including `---`. */
  macInput: Uint8Array;
  mac: Uint8Array;
}

export function headerError(reason: string): CustodyError {
  return new CustodyError('CIPHERTEXT_ERROR', `age header: ${reason}`, { member: 'age header' });
}

/** Unpadded standard base64, the one canonical spelling only. */
export function b64Decode(text: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*$/.test(text)) throw headerError(`${what} is not unpadded base64`);
  let bytes: Uint8Array;
  try {
    bytes = base64nopad.decode(text);
  } catch {
    throw headerError(`${what} is not canonical base64`);
  }
  if (base64nopad.encode(bytes) !== text) throw headerError(`${what} is not canonical base64`);
  return bytes;
}

export function b64Encode(bytes: Uint8Array): string {
  return base64nopad.encode(bytes);
}

const enc = new TextEncoder();

/** An argument is one or more visible ASCII characters (VCHAR, 0x21–0x7e). */
function isArg(s: string): boolean {
  return /^[\x21-\x7e]+$/.test(s);
}

export function encodeStanza(s: Stanza): string {
  if (!isArg(s.type) || !s.args.every(isArg)) throw new CustodyError('INTERNAL', `bad age stanza ${s.type}`);
  const b = b64Encode(s.body);
  let out = `-> ${[s.type, ...s.args].join(' ')}\n`;
  let i = 0;
  for (; i + 64 <= b.length; i += 64) out += `${b.slice(i, i + 64)}\n`;
  return `${out}${b.slice(i)}\n`;
}

/** The header up to and including `---`: the MAC's input. */
export function encodeHeaderWithoutMac(stanzas: Stanza[]): Uint8Array {
  return enc.encode(`${INTRO}\n${stanzas.map(encodeStanza).join('')}---`);
}

export function encodeMacLine(mac: Uint8Array): Uint8Array {
  return enc.encode(` ${b64Encode(mac)}\n`);
}

/**
 * Parses a complete header (`bytes` ends with the newline after the MAC).
 * Every deviation from the canonical form is a header failure.
 */
export function parseHeader(bytes: Uint8Array): ParsedHeader {
  for (const b of bytes) {
    if (b > 0x7e || (b < 0x20 && b !== 0x0a)) throw headerError('contains a byte that is not printable ASCII');
  }
  const text = new TextDecoder().decode(bytes);
  if (!text.endsWith('\n')) throw headerError('ends without a newline');
  const lines = text.slice(0, -1).split('\n');
  const first = lines[0]!;
  if (first !== INTRO) {
    if (first.startsWith('age-encryption.org/')) throw headerError(`unsupported version "${first}"`);
    throw headerError('not an age file (no age-encryption.org/v1 line)');
  }
  const stanzas: Stanza[] = [];
  let i = 1;
  for (;;) {
    const line = lines[i];
    if (line === undefined) throw headerError('ends before the --- line');
    if (line.startsWith('---')) break;
    if (!line.startsWith('-> ')) throw headerError(`line ${i + 1} is neither a stanza nor the --- line`);
    const parts = line.slice(3).split(' ');
    if (!parts.every(isArg)) throw headerError(`stanza on line ${i + 1} has an empty or invalid argument`);
    i++;
    let body = '';
    for (;;) {
      const bl = lines[i];
      if (bl === undefined) throw headerError(`stanza ${parts[0]} has no final body line`);
      if (bl.length > 64) throw headerError(`stanza ${parts[0]} has a body line longer than 64 characters`);
      if (bl.startsWith('-')) throw headerError(`stanza ${parts[0]} ends without a short final body line`);
      body += bl;
      i++;
      if (bl.length < 64) break;
    }
    stanzas.push({ type: parts[0]!, args: parts.slice(1), body: b64Decode(body, `the body of stanza ${parts[0]}`) });
  }
  if (i !== lines.length - 1) throw headerError('has lines after the --- line');
  const macLine = lines[i]!;
  const m = /^--- ([A-Za-z0-9+/]{43})$/.exec(macLine);
  if (!m) throw headerError('the --- line is malformed');
  const mac = b64Decode(m[1]!, 'the header MAC');
  const macInputLength = bytes.length - (macLine.length - 3) - 1;
  return { stanzas, macInput: bytes.subarray(0, macInputLength), mac };
}
