/**
 * Where a passphrase comes from: --passphrase-file, then env
 * CUSTODY_PASSPHRASE, then a prompt with no echo when stdin is a terminal.
 * Never a command-line argument (it would show in `ps` and shell history).
 * With no source and no terminal we stop with a usage error rather than hang
 * a pipeline waiting for input.
 */
import fs from 'node:fs';
import { CustodyError, fromSystemError } from '../core/errors.js';

export interface PassphraseRequest {
  passphraseFile?: string | undefined;
  /** 'new' asks twice on a terminal and mentions --no-passphrase when there is no source. */
  purpose: 'unlock' | 'new';
  /** names the key in prompts and messages */
  label: string;
}

function readPassphraseFile(file: string): string {
  let bytes: Buffer;
  try {
    const st = fs.statSync(file);
    if (st.isFile() && st.size > 64 * 1024) throw new CustodyError('USAGE', `${file} is too large to be a passphrase file`);
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw fromSystemError(e, file);
  }
  // One trailing line break is how editors and `echo` end a file; it is not part of the passphrase.
  return bytes.toString('utf8').replace(/\r?\n$/, '');
}

/** Reads one line from the terminal without echo. */
export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let buf = '';
    const finish = (err?: CustodyError) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003' || (ch === '\u0004' && buf === '')) return finish(new CustodyError('USAGE', 'cancelled at the passphrase prompt'));
        if (ch === '\u007f' || ch === '\b') buf = Array.from(buf).slice(0, -1).join('');
        else if (ch >= ' ') buf += ch;
      }
    };
    // Echo goes off before the prompt appears, so nothing typed after it is ever shown.
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    stdin.resume();
    process.stderr.write(question);
    stdin.on('data', onData);
  });
}

export async function readPassphrase(req: PassphraseRequest, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (req.passphraseFile !== undefined) return readPassphraseFile(req.passphraseFile);
  if (env.CUSTODY_PASSPHRASE !== undefined) return env.CUSTODY_PASSPHRASE;
  if (process.stdin.isTTY) {
    const first = await promptHidden(req.purpose === 'new' ? `New passphrase for ${req.label}: ` : `Passphrase for ${req.label}: `);
    if (req.purpose === 'new') {
      const again = await promptHidden('Repeat the passphrase: ');
      if (again !== first) throw new CustodyError('USAGE', 'the passphrases do not match');
    }
    return first;
  }
  const extra = req.purpose === 'new' ? ', or --no-passphrase for an unencrypted key' : '';
  throw new CustodyError('USAGE', `no passphrase for ${req.label} and no terminal to ask on`, {
    hint: `set CUSTODY_PASSPHRASE or use --passphrase-file <file>${extra}`,
  });
}
