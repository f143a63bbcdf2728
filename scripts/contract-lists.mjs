/**
 * The lists of sync-contract.mjs, taken from the built code (dist/), and the
 * README and schema documents as they must be. Shared with the test that
 * checks nothing has drifted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Check ids that src/ops adds to a verdict besides CHECK_IDS (they are
 * named in the CheckId type of src/bundle/verify.ts; the test compares).
 */
export const OPS_CHECK_IDS = ['bundle.decryption', 'bundle.journal', 'media', 'chain.ledger'];

export async function contractLists(root) {
  const load = (rel) => import(pathToFileURL(path.join(root, 'dist', rel)).href);
  const { errorCodeTable, errorCodeMarkdown, README_BEGIN, README_END } = await load('cli/error-codes.js');
  const { CHECK_IDS } = await load('bundle/verify.js');
  const { CHAIN_RULES } = await load('custody/chain.js');
  const { ACTIONS } = await load('custody/record.js');
  const { ALGOS } = await load('core/algorithms.js');
  return {
    errorCodes: errorCodeTable().map((r) => r.code),
    errorMarkdown: errorCodeMarkdown(),
    readmeBegin: README_BEGIN,
    readmeEnd: README_END,
    checkIds: [...CHECK_IDS.filter((id) => id !== 'manifest.<alg>'), ...OPS_CHECK_IDS],
    chainRules: [...CHAIN_RULES],
    actions: [...ACTIONS, 'unknown'],
    algorithms: [...ALGOS],
  };
}

/** README with the generated table between its markers (inserted after the exit-code table the first time). */
export function syncedReadme(text, l) {
  const block = `${l.readmeBegin}\n${l.errorMarkdown}\n${l.readmeEnd}`;
  const b = text.indexOf(l.readmeBegin);
  const e = text.indexOf(l.readmeEnd);
  if (b >= 0 && e > b) return text.slice(0, b) + block + text.slice(e + l.readmeEnd.length);
  const anchor = '| 3 | runtime failure: I/O error, disk full, an internal error |\n';
  const at = text.indexOf(anchor);
  if (at < 0) throw new Error('README: no exit-code table to put the error codes after');
  const intro = '\nWith `--json`, `error.code` says which failure it was; each code has one exit code:\n\n';
  return text.slice(0, at + anchor.length) + intro + block + '\n' + text.slice(at + anchor.length);
}

/** The schema files whose enums come from the code, as they must be. */
export function syncedSchemas(root, l) {
  const dir = path.join(root, 'schemas');
  const read = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  const common = read('common.schema.json');
  common.$defs.algorithm.enum = l.algorithms;
  common.$defs.action.enum = l.actions;
  common.$defs.chainRule.enum = l.chainRules;
  common.$defs.checkId.anyOf[0].enum = l.checkIds;
  const error = read('error.schema.json');
  error.$defs.code.enum = l.errorCodes;
  return { [path.join(dir, 'common.schema.json')]: common, [path.join(dir, 'error.schema.json')]: error };
}
