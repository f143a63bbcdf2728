/**
 * The names of the segments of a multi-file image, from the first one:
 * EWF `.E01`…`.E99`, `.EAA`…`.EZZ`, `.FAA`…; split raw `.001`, `.002`… or
 * `.aa`, `.ab`…. Pure string arithmetic, so the same rules serve discovery,
 * gap detection and error messages (a missing segment is named, never
 * skipped over: hashing around a gap would give a wrong "media" hash).
 */

/** The EWF extension of segment `n` (1-based), in the case of `first` (`E01` or `e01`). */
export function ewfExtension(first: string, n: number): string | undefined {
  const upper = first === first.toUpperCase();
  const letter = first[0]!.toUpperCase().charCodeAt(0);
  let ext: string;
  if (n >= 1 && n <= 99) ext = String.fromCharCode(letter) + String(n).padStart(2, '0');
  else {
    const i = n - 100;
    const lead = letter + Math.floor(i / 676);
    if (i < 0 || lead > 0x5a) return undefined;
    ext = String.fromCharCode(lead, 0x41 + (Math.floor(i / 26) % 26), 0x41 + (i % 26));
  }
  return upper ? ext : ext.toLowerCase();
}

/** `image.E01` → {base: 'image.', ext: 'E01'}; undefined if the name is not a first EWF segment. */
export function ewfFirst(path: string): { base: string; ext: string } | undefined {
  const m = /^(.*\.)([Ee]01)$/.exec(path);
  return m ? { base: m[1]!, ext: m[2]! } : undefined;
}

/** The path of EWF segment `n` given the first segment's path. */
export function ewfSegmentPath(firstPath: string, n: number): string | undefined {
  const f = ewfFirst(firstPath);
  if (!f) return undefined;
  const ext = ewfExtension(f.ext, n);
  return ext === undefined ? undefined : f.base + ext;
}

/** Which segment number `path` is in the set that starts at `firstPath` (EWF), or undefined. */
export function ewfSegmentNumber(firstPath: string, path: string): number | undefined {
  const f = ewfFirst(firstPath);
  if (!f || !path.startsWith(f.base)) return undefined;
  const ext = path.slice(f.base.length);
  if (ext.length !== 3 || (ext === ext.toUpperCase()) !== (f.ext === f.ext.toUpperCase())) return undefined;
  const E = ext.toUpperCase();
  const lead = f.ext[0]!.toUpperCase().charCodeAt(0);
  if (/^\d\d$/.test(E.slice(1)) && E.charCodeAt(0) === lead) {
    const n = Number(E.slice(1));
    return n >= 1 ? n : undefined;
  }
  if (!/^[A-Z]{3}$/.test(E)) return undefined;
  const n = 100 + (E.charCodeAt(0) - lead) * 676 + (E.charCodeAt(1) - 0x41) * 26 + (E.charCodeAt(2) - 0x41);
  return n >= 100 ? n : undefined;
}

/** A split raw naming scheme: numeric (`.001`) or alphabetic (`.aa`), of a fixed width. */
export interface SplitScheme {
  base: string;
  kind: 'numeric' | 'alpha';
  width: number;
  /** Number of the first segment given (`.000` starts at 0, `.001` at 1, `.aa` at 0). */
  start: number;
  upper: boolean;
}

export function splitScheme(path: string): SplitScheme | undefined {
  const m = /^(.*\.)(\d{2,4}|[a-z]{2,3}|[A-Z]{2,3})$/.exec(path);
  if (!m) return undefined;
  const suffix = m[2]!;
  if (/^\d+$/.test(suffix)) return { base: m[1]!, kind: 'numeric', width: suffix.length, start: Number(suffix), upper: false };
  return { base: m[1]!, kind: 'alpha', width: suffix.length, start: alphaValue(suffix.toLowerCase()), upper: suffix === suffix.toUpperCase() };
}

function alphaValue(s: string): number {
  let v = 0;
  for (const c of s) v = v * 26 + (c.charCodeAt(0) - 0x61);
  return v;
}

/** The path of the segment numbered `n` in the scheme (n counts in the suffix's own terms). */
export function splitPath(s: SplitScheme, n: number): string | undefined {
  if (s.kind === 'numeric') {
    const t = String(n);
    return t.length > s.width ? undefined : s.base + t.padStart(s.width, '0');
  }
  if (n >= 26 ** s.width) return undefined;
  let t = '';
  for (let i = 0, v = n; i < s.width; i++, v = Math.floor(v / 26)) t = String.fromCharCode(0x61 + (v % 26)) + t;
  return s.base + (s.upper ? t.toUpperCase() : t);
}

/** The number of `path` in the scheme, or undefined if it is not one of its names. */
export function splitNumber(s: SplitScheme, path: string): number | undefined {
  if (!path.startsWith(s.base)) return undefined;
  const suffix = path.slice(s.base.length);
  if (suffix.length !== s.width) return undefined;
  if (s.kind === 'numeric') return /^\d+$/.test(suffix) ? Number(suffix) : undefined;
  const ok = s.upper ? /^[A-Z]+$/.test(suffix) : /^[a-z]+$/.test(suffix);
  return ok ? alphaValue(suffix.toLowerCase()) : undefined;
}
