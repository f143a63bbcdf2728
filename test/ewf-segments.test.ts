/** Segment names of multi-file images: the arithmetic that finds, orders and names missing segments. */
import { describe, expect, it } from 'vitest';
import { ewfExtension, ewfSegmentNumber, ewfSegmentPath, splitNumber, splitPath, splitScheme } from '../src/core/ewf/segments.js';
import { parseHeaderText } from '../src/core/ewf/format.js';

describe('EWF segment names', () => {
  it('go E01…E99, then EAA…EZZ, then FAA, in the case of the first', () => {
    expect([1, 9, 99, 100, 101, 125, 126, 775, 776].map((n) => ewfExtension('E01', n))).toEqual(['E01', 'E09', 'E99', 'EAA', 'EAB', 'EAZ', 'EBA', 'EZZ', 'FAA']);
    expect(ewfExtension('e01', 100)).toBe('eaa');
    expect(ewfSegmentPath('/x/disk.E01', 2)).toBe('/x/disk.E02');
  });

  it('map back to their numbers, and other names to none', () => {
    for (const n of [1, 42, 99, 100, 700, 776, 1000]) expect(ewfSegmentNumber('d.E01', ewfSegmentPath('d.E01', n)!)).toBe(n);
    expect(ewfSegmentNumber('d.E01', 'd.e02')).toBeUndefined(); // another case is another set
    expect(ewfSegmentNumber('d.E01', 'other.E02')).toBeUndefined();
    expect(ewfSegmentNumber('d.E01', 'd.E01.bak')).toBeUndefined();
  });
});

describe('split raw segment names', () => {
  it('numeric: .001 → .002 …, keeping the width', () => {
    const s = splitScheme('img.001')!;
    expect(s).toMatchObject({ base: 'img.', kind: 'numeric', width: 3, start: 1 });
    expect(splitPath(s, 10)).toBe('img.010');
    expect(splitNumber(s, 'img.010')).toBe(10);
    expect(splitNumber(s, 'img.10')).toBeUndefined();
  });

  it('alphabetic: .aa → .ab … .az → .ba', () => {
    const s = splitScheme('img.aa')!;
    expect([0, 1, 25, 26, 675].map((n) => splitPath(s, n))).toEqual(['img.aa', 'img.ab', 'img.az', 'img.ba', 'img.zz']);
    expect(splitPath(s, 676)).toBeUndefined();
    expect(splitNumber(s, 'img.ba')).toBe(26);
  });
});

describe('EWF header text', () => {
  it('reads header2 fields by their identifiers, dates as UTC timestamps', () => {
    const text = '3\nmain\na\tc\tn\te\tt\tmd\tsn\tav\tov\tm\tu\tp\tdc\nDisk\tC-1\tE-2\tAnn\tnotes\t\t\t20140813\tLinux\t1796023720\t1796023721\t0\t\n\nsrce\n';
    expect(parseHeaderText(text, 'header2')).toEqual({
      description: 'Disk',
      caseNumber: 'C-1',
      evidenceNumber: 'E-2',
      examiner: 'Ann',
      notes: 'notes',
      softwareVersion: '20140813',
      os: 'Linux',
      acquisitionDate: '2026-11-30T07:28:40Z',
      systemDate: '2026-11-30T07:28:41Z',
    });
  });

  it('reads header (v1) dates as the local time of the acquiring machine, without a zone', () => {
    const text = '1\r\nmain\r\nc\tn\ta\te\tt\tav\tov\tm\tu\tp\r\nC\tN\tA\tE\tT\t6.1\tWindows\t2026 1 2 3 4 5\t2026 1 2 3 4 5\t0\r\n\r\n';
    expect(parseHeaderText(text, 'header')).toMatchObject({ caseNumber: 'C', acquisitionDate: '2026-01-02T03:04:05', os: 'Windows' });
  });
});
