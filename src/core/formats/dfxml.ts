/**
 * DFXML (Digital Forensics XML, version 1.x as written by md5deep/hashdeep
 * `-d`, fiwalk and bulk_extractor): one <fileobject> per input with
 * <filename>, <filesize> and one <hashdigest type="…"> per algorithm; pieces
 * become <byte_runs> with a SHA-256 per run, the way piecewise md5deep does.
 */
import { CustodyError } from '../errors.js';
import { hasControlChars, type FileHash } from './result.js';

export const DFXML_NS = 'http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML';

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export function formatDfxml(files: FileHash[], creator: { version: string; commandLine: string; startTime: string }): string[] {
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<dfxml xmlns="${DFXML_NS}" xmlns:dc="http://purl.org/dc/elements/1.1/" version="1.0">`,
    '  <metadata>',
    '    <dc:type>Hash List</dc:type>',
    '  </metadata>',
    '  <creator version="1.0">',
    '    <program>custody</program>',
    `    <version>${xml(creator.version)}</version>`,
    '    <execution_environment>',
    `      <command_line>${xml(creator.commandLine)}</command_line>`,
    `      <start_time>${xml(creator.startTime)}</start_time>`,
    '    </execution_environment>',
    '  </creator>',
  ];
  for (const f of files) {
    // XML 1.0 cannot carry most control characters at all, not even as entities.
    if (hasControlChars(f.path)) throw new CustodyError('USAGE', `--format dfxml cannot hold the file name ${JSON.stringify(f.path)}`);
    out.push('  <fileobject>', `    <filename>${xml(f.path)}</filename>`, `    <filesize>${f.size}</filesize>`);
    for (const [algo, hex] of Object.entries(f.digests)) out.push(`    <hashdigest type="${algo}">${hex}</hashdigest>`);
    if (f.pieces && f.pieces.hashes.length > 0) {
      out.push('    <byte_runs>');
      f.pieces.hashes.forEach((hex, i) => {
        const off = i * f.pieces!.pieceSize;
        const len = Math.min(f.pieces!.pieceSize, f.size - off);
        out.push(`      <byte_run file_offset="${off}" len="${len}">`, `        <hashdigest type="sha256">${hex}</hashdigest>`, '      </byte_run>');
      });
      out.push('    </byte_runs>');
    }
    out.push('  </fileobject>');
  }
  out.push('</dfxml>');
  return out;
}
