/** Registers every command. Each command lives in its own file and exports `register`. */
import type { Command } from 'commander';
import { register as hash } from './hash.js';
import { register as key } from './key.js';
import { register as trust } from './trust.js';
import { register as caseCmd } from './case.js';
import { register as seal } from './seal.js';
import { register as verify } from './verify.js';
import { register as extract } from './extract.js';
import { register as transfer } from './transfer.js';
import { register as receive } from './receive.js';
import { register as log } from './log.js';
import { register as report } from './report.js';
import { register as demo } from './demo.js';
import { register as ledger } from './ledger.js';
import { register as verifier } from './verifier.js';

export function registerAll(program: Command): void {
  for (const r of [hash, key, trust, caseCmd, seal, verify, extract, transfer, receive, log, report, ledger, verifier, demo]) r(program);
}
