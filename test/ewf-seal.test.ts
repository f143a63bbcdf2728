/**
 * `custody seal` of disk images: an E01 (found segments sealed as they are,
 * as one item) and a split raw image (--split), with the media hashes, the
 * stored hashes and the acquisition metadata in custody/manifest.json; the
 * bundle verifies, and the manifest parser still reads bundles without them.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCustodyManifest } from '../src/bundle/custody-manifest.js';
import { runCli, tempDir } from './helpers/cli.js';
import { makeMedia } from './helpers/ewf.js';

let dir: string;
let home: string;
let pub: string;
let media: Buffer;
const env = () => ({ CUSTODY_HOME: home, TZ: 'UTC' });
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function manifestOf(bundle: string): Record<string, any> {
  const r = spawnSync('tar', ['-xOf', bundle, `${path.basename(bundle, '.tar')}/custody/manifest.json`], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

beforeAll(() => {
  dir = tempDir('custody-ewf-seal-');
  home = path.join(dir, 'home');
  expect(runCli(['key', 'new', '--name', 'Ann Examiner', '--no-passphrase'], { env: env() }).code).toBe(0);
  pub = path.join(home, 'keys', fs.readdirSync(path.join(home, 'keys')).find((f) => f.endsWith('.pub'))!);
  media = makeMedia(160);
  fs.writeFileSync(path.join(dir, 'media.raw'), media);
  const r = spawnSync('ewfacquire', ['-u', '-q', '-c', 'deflate:fast', '-d', 'sha1', '-S', '1MiB', '-C', 'CASE 9', '-E', 'EV 3', '-e', 'Ann', '-D', 'USB stick', '-N', 'n', '-t', 'stick', 'media.raw'], { cwd: dir, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  for (let i = 0; i * 1_000_000 < media.length; i++) {
    fs.writeFileSync(path.join(dir, `usb.${String(i + 1).padStart(3, '0')}`), media.subarray(i * 1_000_000, (i + 1) * 1_000_000));
  }
}, 60_000);

describe('custody seal of a disk image', () => {
  it('seals every segment of an E01 as they are, as one item, with media hashes, stored hashes and acquisition metadata', () => {
    const segs = fs.readdirSync(dir).filter((f) => f.startsWith('stick.E')).sort();
    expect(segs.length).toBeGreaterThanOrEqual(3);
    const bundle = path.join(dir, 'stick.tar');
    const r = runCli(['seal', 'stick.E01', '--case', 'C-9', '--out', bundle, '--piece', '1MiB'], { cwd: dir, env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`media stick.E01: EWF, ${segs.length} segments, ${media.length} bytes, md5 ${md5(media)}`);
    expect(r.stdout).toContain('stored MD5 matches');
    const m = manifestOf(bundle);
    const item = m.items[0];
    expect(item).toMatchObject({ id: 'stick.E01', kind: 'image' });
    expect(item.image.segments).toEqual(segs.map((s) => `data/stick.E01/${s}`));
    expect(m.files.map((f: { path: string }) => f.path)).toEqual(item.image.segments);
    for (const [i, s] of segs.entries()) expect(m.files[i].hashes.sha256).toBe(sha256(fs.readFileSync(path.join(dir, s))));
    expect(item.image.media).toMatchObject({ size: media.length, hashes: { md5: md5(media), sha256: sha256(media) } });
    expect(item.image.stored.md5).toBe(md5(media));
    expect(item.image.matches).toEqual({ md5: true, sha1: true });
    expect(item.image.acquisition).toMatchObject({ caseNumber: 'CASE 9', evidenceNumber: 'EV 3', examiner: 'Ann', description: 'USB stick' });
    expect(item.image.geometry).toMatchObject({ bytesPerSector: 512, sectorCount: media.length / 512, compression: 'fast' });
    const v = runCli(['verify', bundle, '--trust', pub, '--full'], { env: env() });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const mv = runCli(['verify', bundle, '--trust', pub, '--full', '--media'], { env: env() });
    expect(mv.code, mv.stdout + mv.stderr).toBe(0);
    expect(mv.stdout).toMatch(/ok\s+media of item stick\.E01: EWF, \d+ segment\(s\): \d+ bytes, md5, sha1, sha256 recomputed and equal/);
    expect(runCli(['verify', bundle, '--trust', pub, '--media'], { env: env() }).code).toBe(2); // --media needs --full
    // The report shows the item's acquisition block and the media hashes.
    const html = path.join(dir, 'stick.html');
    const rep = runCli(['report', bundle, '--html', html, '--trust', pub], { env: env() });
    expect(rep.code, rep.stderr).toBe(0);
    const page = fs.readFileSync(html, 'utf8');
    for (const t of ['acquisition case number', 'CASE 9', 'acquisition examiner', `media md5`, md5(media), 'matches the media']) expect(page).toContain(t);
  });

  it('seals a split raw image given its first segment (--split), with the media hash of the whole', () => {
    const bundle = path.join(dir, 'usb.tar');
    const r = runCli(['--json', 'seal', '--split', 'usb.001', '--case', 'C-9', '--out', bundle], { cwd: dir, env: env() });
    expect(r.code, r.stderr).toBe(0);
    const item = manifestOf(bundle).items[0];
    const segs = fs.readdirSync(dir).filter((f) => f.startsWith('usb.0')).sort();
    expect(segs.length).toBe(6);
    expect(item).toMatchObject({ id: 'usb.001', kind: 'image', image: { format: 'split', segments: segs.map((s) => `data/usb.001/${s}`) } });
    expect(item.image.media).toMatchObject({ size: media.length, hashes: { md5: md5(media), sha256: sha256(media) } });
    const v = runCli(['verify', bundle, '--trust', pub, '--full', '--media'], { env: env() });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toMatch(/ok\s+media of item usb\.001: split raw, 6 segment\(s\)/);
  });

  it('refuses to seal an E01 whose middle segment is missing, and leaves no bundle', () => {
    const d = fs.mkdtempSync(path.join(dir, 'gap-'));
    for (const f of fs.readdirSync(dir).filter((x) => x.startsWith('stick.E'))) fs.copyFileSync(path.join(dir, f), path.join(d, f));
    fs.unlinkSync(path.join(d, 'stick.E02'));
    const r = runCli(['seal', 'stick.E01', '--case', 'C-9', '--out', 'gap.tar'], { cwd: d, env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('stick.E02 is missing');
    expect(fs.readdirSync(d).filter((f) => f.includes('.tar'))).toEqual([]);
  });

  it('the manifest parser reads a manifest without images and refuses an image block of the wrong shape', () => {
    const m = manifestOf(path.join(dir, 'stick.tar'));
    const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
    const old = structuredClone(m);
    old.items[0].kind = 'file';
    delete old.items[0].image;
    expect(parseCustodyManifest(enc(old)).items[0]!.image).toBeUndefined();
    const extra = structuredClone(m);
    extra.items[0].image.media.extra = 1;
    expect(() => parseCustodyManifest(enc(extra))).toThrow(/unexpected field "extra"/);
    const noImage = structuredClone(m);
    delete noImage.items[0].image;
    expect(() => parseCustodyManifest(enc(noImage))).toThrow(/missing for an image item/);
    const stray = structuredClone(m);
    stray.items[0].image.segments.push('data/stick.E01/other.bin');
    expect(() => parseCustodyManifest(enc(stray))).toThrow(/not a file of the item/);
  });
});
