/**
 * The suite checks our output with real peer tools. When one is missing this
 * test says which and how to install it, instead of a confusing failure deep
 * in another test (.ci/run installs them; see README).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BAGIT } from './helpers/tar-peers.js';

const TOOLS: [tool: string, debianPackage: string][] = [
  ['openssl', 'openssl'],
  ['sha256sum', 'coreutils'],
  ['tar', 'tar'],
  ['python3', 'python3'],
  ['ssh-keygen', 'openssh-client'],
  ['minisign', 'minisign'],
  ['hashdeep', 'hashdeep'],
  ['bsdtar', 'libarchive-tools'],
  ['busybox', 'busybox'],
  ['7zz', '7zip'],
  ['pax', 'pax'],
];

describe('peer tools the tests run against', () => {
  for (const [tool, pkg] of TOOLS) {
    it(`${tool} is installed`, () => {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
      expect(found, `${tool} is missing: apt-get install ${pkg} (or run bash .ci/run)`).toBe(true);
    });
  }
  it('bagit-python is at ../shared/peers/bagit (or $CUSTODY_BAGIT)', () => {
    expect(fs.existsSync(BAGIT), `${BAGIT} is missing: see ../shared/peers/README.md`).toBe(true);
  });
});
