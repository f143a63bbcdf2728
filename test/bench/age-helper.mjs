#!/usr/bin/env node
/**
 * The custody side of the age bench (test/bench/run.mjs): the library calls
 * `custody transfer --encrypt` and `custody verify <bundle.tar.age>` use,
 * timed on their own so they compare with `age -R` / `age -d` doing the same
 * work (encrypt a file to one ssh-ed25519 recipient; decrypt it to /dev/null).
 *
 *   age-helper.mjs encrypt <in> <out> <custody .pub>
 *   age-helper.mjs decrypt <in.age> <custody .key (unencrypted)>
 *
 * run.mjs times it as one file (bundleAgeHelper, below, into dist/bench/), the
 * way bin/custody.js starts every command from one bundle: loaded as the ES
 * modules of dist/ one by one, the same work starts ~50 ms later, a cost the
 * CLI does not pay. Run directly, it imports dist/ as it is.
 */
import fs from 'node:fs';
import { encryptFileTo, openAgeSource } from '../../dist/bundle/age-files.js';
import { sshEd25519Identity, sshEd25519Recipient } from '../../dist/custody/age/recipients.js';
import { parsePublicKeyFile } from '../../dist/custody/identity.js';
import { decryptKeyFile } from '../../dist/custody/keyfile.js';
import { aead } from '../../dist/custody/age/primitives.js';
import { useNodeBase64 } from '../../dist/cli/node-base64.js';
import { useSodiumKeyCheck } from '../../dist/cli/sodium-keys.js';

// The host checks every custody command installs at start (cli/start.ts): libsodium's key check, node's base64.
useSodiumKeyCheck();
useNodeBase64();

// Said, so a figure is never taken for libsodium's when the slower fallback ran.
if (aead.name !== 'libsodium') console.error(`age-helper: the cipher is ${aead.name} (sodium-native did not load)`);

const [op, a, b, c] = process.argv.slice(2);
if (op === 'encrypt') {
  const id = parsePublicKeyFile(fs.readFileSync(c));
  await encryptFileTo(a, [sshEd25519Recipient(id.publicKey, id.keyid)], b, true);
} else if (op === 'decrypt') {
  const { seed, identity } = await decryptKeyFile(new Uint8Array(fs.readFileSync(b)), null, b);
  const src = await openAgeSource(a, [sshEd25519Identity(seed, identity.keyid)]);
  const fd = fs.openSync('/dev/null', 'w');
  for await (const chunk of src.stream) fs.writeSync(fd, chunk);
  fs.closeSync(fd);
} else {
  console.error('usage: age-helper.mjs encrypt <in> <out> <pub> | decrypt <in.age> <key>');
  process.exit(2);
}
