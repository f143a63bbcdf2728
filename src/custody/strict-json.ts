/**
 * A JSON parser for untrusted documents (records, envelopes, key files).
 *
 * Threat: JSON.parse keeps the LAST of duplicate keys while other parsers keep
 * the first, so a signed document could say two things at once ("by" one
 * person to a verifier, another to a reader). We refuse duplicate keys, a
 * byte-order mark, invalid UTF-8, lone surrogates and absurd nesting; a key
 * named `__proto__` becomes a plain own property, never a prototype.
 */
import { CustodyError, type ErrorCode } from '../core/errors.js';

const MAX_DEPTH = 64;
/** The most characters a number may be written with (the Parser reads no further). */
const MAX_NUMBER_CHARS = 400;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

class Parser {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly code: ErrorCode,
    private readonly what: string,
  ) {}

  fail(reason: string): never {
    throw new CustodyError(this.code, `${this.what} is not valid JSON: ${reason} at offset ${this.i}`);
  }

  ws(): void {
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else break;
    }
  }

  document(): unknown {
    this.ws();
    const v = this.value(0);
    this.ws();
    if (this.i !== this.s.length) this.fail('unexpected data after the value');
    return v;
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    const c = this.s[this.i];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    return this.fail(c === undefined ? 'unexpected end' : `unexpected character ${JSON.stringify(c)}`);
  }

  object(depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.i++; // {
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('expected a string key');
      const key = this.string();
      if (Object.hasOwn(out, key)) this.fail(`duplicate key ${JSON.stringify(key)}`);
      this.ws();
      if (this.s[this.i] !== ':') this.fail("expected ':'");
      this.i++;
      this.ws();
      const v = this.value(depth + 1);
      // Only __proto__ is an accessor on Object.prototype: assigning it would set the prototype.
      if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      else out[key] = v;
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') this.fail("expected ',' or '}'");
    }
  }

  array(depth: number): unknown[] {
    const out: unknown[] = [];
    this.i++; // [
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') this.fail("expected ',' or ']'");
    }
  }

  string(): string {
    this.i++; // opening quote
    let out = '';
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if (Number.isNaN(c)) this.fail('unterminated string');
      if (c === 0x22) {
        this.i++;
        break;
      }
      if (c < 0x20) this.fail('control character in a string');
      if (c === 0x5c) {
        const e = this.s[this.i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          this.i += 2;
        } else if (e === 'u') {
          const hex = this.s.slice(this.i + 2, this.i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          this.i += 6;
        } else {
          this.fail('bad escape');
        }
      } else {
        // A run of plain characters at once (one concatenation per run, not per character).
        let j = this.i + 1;
        for (; j < this.s.length; j++) {
          const d = this.s.charCodeAt(j);
          if (d === 0x22 || d === 0x5c || d < 0x20) break;
        }
        out += this.s.slice(this.i, j);
        this.i = j;
      }
    }
    // Lone surrogates cannot be encoded back to UTF-8: one string, two meanings.
    if (LONE_SURROGATE.test(out)) this.fail('lone surrogate in a string');
    return out;
  }

  number(): number {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.s.slice(this.i, this.i + MAX_NUMBER_CHARS));
    if (!m) this.fail('bad number');
    this.i += m[0].length;
    const n = Number(m[0]);
    if (!Number.isFinite(n)) this.fail('number out of range');
    return n;
  }
}

/**
 * Parses untrusted JSON strictly. `code` is the error code to throw
 * (MALFORMED_BUNDLE for evidence, BAD_KEY for key files, …).
 */
export function parseStrictJson(
  input: Uint8Array | string,
  what = 'document',
  code: ErrorCode = 'MALFORMED_BUNDLE',
): unknown {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    try {
      // ignoreBOM keeps a BOM in the text, where the parser refuses it.
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch {
      throw new CustodyError(code, `${what} is not valid UTF-8`);
    }
  }
  // undefined: not decided (JSON.parse never gives undefined; a document that is null is null either way).
  const quick = typeof input === 'string' && LONE_SURROGATE.test(input) ? undefined : quickParse(text);
  return quick !== undefined ? quick : new Parser(text, code, what).document();
}

/** Parses with this module's own parser only (the tests compare it with parseStrictJson). */
export function parseStrictJsonSlowly(text: string, what = 'document', code: ErrorCode = 'MALFORMED_BUNDLE'): unknown {
  return new Parser(text, code, what).document();
}

const isNumberChar = (c: number): boolean => (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2b || c === 0x2d || c === 0x65 || c === 0x45;

/**
 * Whether the text has a run of characters a number is made of, longer than
 * MAX_NUMBER_CHARS. Any MAX_NUMBER_CHARS + 1 consecutive places hold one of
 * every (MAX_NUMBER_CHARS + 1)th, so only those are looked at, and the run around each.
 */
function longNumberRun(text: string): boolean {
  for (let j = MAX_NUMBER_CHARS; j < text.length; j += MAX_NUMBER_CHARS + 1) {
    if (!isNumberChar(text.charCodeAt(j))) continue;
    let lo = j;
    let hi = j;
    while (lo > 0 && isNumberChar(text.charCodeAt(lo - 1))) lo--;
    while (hi + 1 < text.length && isNumberChar(text.charCodeAt(hi + 1))) hi++;
    if (hi - lo + 1 > MAX_NUMBER_CHARS) return true;
  }
  return false;
}

function colons(s: string): number {
  let n = 0;
  for (let at = s.indexOf(':'); at !== -1; at = s.indexOf(':', at + 1)) n++;
  return n;
}

/**
 * The value JSON.parse gives, when that is provably the value the Parser
 * would give; otherwise undefined, and the Parser decides (and words any
 * refusal). JSON.parse is twice as fast on custody/manifest.json's elements,
 * but keeps the last of duplicate keys and accepts what the Parser refuses.
 * The answer is taken only when:
 * - the text has no \u escape (so no escaped lone surrogate, and no ':' in a
 *   string that is not written as ':'); a text given as a string has no raw
 *   lone surrogate (the caller checks; decoded UTF-8 cannot have one);
 * - no value is nested deeper than MAX_DEPTH, every number is finite, and
 *   no number is written with more characters than the Parser reads (MAX_NUMBER_CHARS):
 *   looked for only when the text outside its strings (at most its length
 *   less each parsed string and its quotes) could hold one;
 * - no key was dropped: outside strings, each ':' follows one key, so the
 *   ':'s of the text are the keys plus the ':'s inside strings. Counted again
 *   on the parsed value (each key, and the ':'s of every key and string), the
 *   two agree exactly when JSON.parse kept every key, that is when no object
 *   had a key twice.
 * A BOM, bad syntax, control characters: JSON.parse throws and the Parser
 * refuses in its own words.
 */
function quickParse(text: string): unknown {
  if (text.includes('\\u')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  let seen = 0;
  let inStrings = 0;
  const fits = (x: unknown, depth: number): boolean => {
    if (depth > MAX_DEPTH) return false;
    if (typeof x === 'string') {
      seen += colons(x);
      inStrings += x.length + 2;
      return true;
    }
    if (typeof x === 'number') return Number.isFinite(x);
    if (x === null || typeof x !== 'object') return true;
    if (Array.isArray(x)) {
      for (const y of x) if (!fits(y, depth + 1)) return false;
      return true;
    }
    for (const k in x) {
      seen += 1 + colons(k);
      inStrings += k.length + 2;
      if (!fits((x as Record<string, unknown>)[k], depth + 1)) return false;
    }
    return true;
  };
  if (!fits(v, 0) || seen !== colons(text)) return undefined;
  return text.length - inStrings > MAX_NUMBER_CHARS && longNumberRun(text) ? undefined : v;
}

/** A plain JSON object (not an array, not null) or throws. */
export function asObject(v: unknown, what: string, code: ErrorCode = 'MALFORMED_BUNDLE'): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CustodyError(code, `${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

/** Refuses keys outside `allowed` (a signed document must not smuggle fields a reader might act on). */
export function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], what: string, code: ErrorCode): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw new CustodyError(code, `${what} has an unknown field ${JSON.stringify(k)}`);
  }
}
