/** A printed PDF read back as text, one string per page, with pdftotext (Debian poppler-utils). */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export function pdfPages(pdf: Buffer, dir: string): string[] {
  const file = path.join(dir, `p${Math.random().toString(36).slice(2)}.pdf`);
  fs.writeFileSync(file, pdf);
  const r = spawnSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`pdftotext failed (install poppler-utils): ${r.error?.message ?? r.stderr}`);
  return r.stdout.split('\f').slice(0, -1);
}
