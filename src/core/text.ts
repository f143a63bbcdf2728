/**
 * The one rule for text that people read: names, labels, reasons, anything
 * that comes from a bundle, a record, a ledger or a key file and reaches a
 * terminal or a printed report.
 *
 * Threat: a forger controls strings inside a bundle (the sealer's name, a
 * member name, a signed reason). A raw ESC or C1 sequence repaints the
 * terminal ("NOT VERIFIED" rewritten as "VERIFIED"); a newline or U+2028
 * forges whole output lines ("0002 receive … [ok]"); a bidi override
 * (U+202E) makes "exe.txt" read as "txt.exe".
 *
 * So: where text is made (seal, records, labels, ledger rows) these
 * characters are refused (`checkText`); where untrusted text is shown, they
 * are escaped (`escapeText`: `\u202E`, never the character). Free text that
 * may span lines (a reason, a note) keeps its line breaks and tabs, and is
 * printed with a visible continuation mark on each further line.
 *
 * No `node:` import: the verification core and the verifier page use it too.
 */
import { CustodyError, type ErrorCode } from './errors.js';

/**
 * C0 controls, DEL, C1 controls (U+009B is a one-character CSI), the line and
 * paragraph separators, and the Unicode bidi controls (ALM, LRM, RLM,
 * LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI).
 */
const UNSAFE_CLASS = '\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';
const UNSAFE = new RegExp(`[${UNSAFE_CLASS}]`, 'u');
const UNSAFE_ALL = new RegExp(`[${UNSAFE_CLASS}]`, 'gu');
/** The same, but tab and line feed are allowed (multi-line free text). */
const UNSAFE_MULTILINE = new RegExp(`[${UNSAFE_CLASS.replace('\\u0000-\\u001f', '\\u0000-\\u0008\\u000b-\\u001f')}]`, 'u');

export interface TextRule {
  /** Free text that may hold line feeds and tabs (a reason, a note); labels and names may not. */
  multiline?: boolean;
  /** Longest allowed value, in UTF-16 code units (default 4096). */
  max?: number;
}

/** Why `value` breaks the rule, or undefined when it is fine. */
export function textProblem(value: string, rule: TextRule = {}): string | undefined {
  const max = rule.max ?? 4096;
  if (value.trim() === '') return 'must not be empty';
  if (value.length > max) return `is longer than ${max} characters`;
  const bad = (rule.multiline ? UNSAFE_MULTILINE : UNSAFE).exec(value);
  if (bad) {
    const what = bad[0] === '\n' || bad[0] === '\r' ? 'a line break' : /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u.test(bad[0]) ? 'a bidi control' : 'a control character';
    return `contains ${what} (${codePoint(bad[0])})`;
  }
  return undefined;
}

/** Refuses text that breaks the rule with `code` (USAGE where a person typed it, MALFORMED_BUNDLE in evidence…). */
export function checkText(value: unknown, what: string, code: ErrorCode, rule: TextRule = {}): string {
  if (typeof value !== 'string') throw new CustodyError(code, `${what} must be a string`);
  const problem = textProblem(value, rule);
  if (problem !== undefined) throw new CustodyError(code, `${what} ${problem}`);
  return value;
}

/** Whether `value` holds nothing that escapeText would change. */
export function isSafeText(value: string): boolean {
  return !UNSAFE.test(value);
}

function codePoint(ch: string): string {
  return `\\u${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Untrusted text made safe to print: every unsafe character shown as
 * `\uXXXX`. With `continuation`, line feeds are kept and each further line
 * starts with that mark (e.g. "      | "), so a forged line never looks like
 * one of ours; tabs are kept too.
 */
export function escapeText(value: string, continuation?: string): string {
  if (isSafeText(value)) return value;
  return value.replace(UNSAFE_ALL, (ch) => {
    if (continuation !== undefined && ch === '\n') return `\n${continuation}`;
    if (continuation !== undefined && ch === '\t') return ch;
    return codePoint(ch);
  });
}

/**
 * One entry of our own output made safe for a terminal. Data inside it is
 * escaped; tabs and line feeds are kept (some outputs are several lines at
 * once: free text from a bundle is marked where it is printed); with `keepColour`, the SGR colour sequences our own colouring
 * writes (ESC [ digits m) are kept — nothing else that starts with ESC is.
 */
export function escapeLine(line: string, keepColour: boolean): string {
  if (!keepColour) return escapeText(line, '');
  let out = '';
  let last = 0;
  for (const m of line.matchAll(/\u001b\[[0-9;]*m/gu)) {
    out += escapeText(line.slice(last, m.index), '') + m[0];
    last = m.index + m[0].length;
  }
  return out + escapeText(line.slice(last), '');
}

/**
 * JSON for machines, safe if it lands on a terminal: JSON.stringify leaves C1
 * controls, U+2028/2029 and bidi controls raw; they become \u escapes (the
 * same JSON value).
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE_ALL, (ch) => codePoint(ch).toLowerCase());
}

/** A value nobody vouches for, quoted and in printable ASCII (every other character as \uXXXX). */
export function quotedAscii(v: string): string {
  return JSON.stringify(v).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
