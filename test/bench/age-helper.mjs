#!/usr/bin/env node
/**
 * The custody side of the age bench (test/bench/run.mjs): the library calls
 * `custody transfer --encrypt` and `custody verify <bundle.tar.age>` use,
 * timed on their own so they compare with `age -R` / `age -d` doing the same
 * work (encrypt a file to one ssh-ed25519 recipient; decrypt it to /dev/null).
 *
 *   age-helper.mjs encrypt <in> <out> <custody .pub>
 *   age-helper.mjs decrypt <in.age> <custody .key (unencrypted)>
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');
const { encryptFileTo, openAgeSource } = await import(path.join(DIST, 'bundle', 'age-files.js'));
const { sshEd25519Identity, sshEd25519Recipient } = await import(path.join(DIST, 'custody', 'age', 'recipients.js'));
const { parsePublicKeyFile } = await import(path.join(DIST, 'custody', 'identity.js'));
const { decryptKeyFile } = await import(path.join(DIST, 'custody', 'keyfile.js'));

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
