#!/usr/bin/env node
/**
 * Writes the lists that scripts rely on from the code that defines them, so
 * the documents cannot drift from it: README's error-code table and the
 * enums of schemas/ (error codes, hash algorithms, record actions, verify
 * check ids, chain rules). Run after `npm run build`:  npm run sync:contract
 * test/json-schemas.test.ts fails when a document differs from what this writes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { contractLists, syncedReadme, syncedSchemas } from './contract-lists.mjs';

const root = path.resolve(import.meta.dirname, '..');
const lists = await contractLists(root);
const readme = path.join(root, 'README.md');
fs.writeFileSync(readme, syncedReadme(fs.readFileSync(readme, 'utf8'), lists));
for (const [file, schema] of Object.entries(syncedSchemas(root, lists))) fs.writeFileSync(file, `${JSON.stringify(schema, null, 2)}\n`);
console.log(`README.md and schemas/ updated: ${lists.errorCodes.length} error codes, ${lists.checkIds.length} check ids, ${lists.chainRules.length} chain rules`);
