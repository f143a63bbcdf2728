/** Option helpers shared by command definitions (kept free of heavy imports: help must load fast). */
import type { Command } from 'commander';

/** Commander parser for a repeatable option: `--trust a --trust b` → ['a', 'b']. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** The key that opens an age-encrypted bundle (.tar.age), for the commands that read one. */
export function addDecryptKeyOptions(cmd: Command): Command {
  return cmd
    .option('--key <file>', 'for an encrypted bundle (.tar.age): your key — a custody key, an OpenSSH private key or an age identity file (default: env CUSTODY_KEY, or the only key in <home>/keys)')
    .option('--passphrase-file <file>', "read that key's passphrase from this file");
}

/** What addDecryptKeyOptions parses. */
export interface DecryptKeyFlags {
  key?: string;
  passphraseFile?: string;
}

/** What addVerifyTrustOptions parses. */
export interface TrustFlags {
  trust: string[];
  allowUntrusted?: boolean;
  strictTrust?: boolean;
  receipt: string[];
}

/** The trust options of every command that verifies a bundle the way `custody verify` does. */
export function addVerifyTrustOptions(cmd: Command): Command {
  return cmd
    .option('--trust <pubfile|fingerprint>', 'trust this sealer: its .pub/.pem file, or its 64-hex fingerprint as read out to you (spaces, colons, dashes allowed; repeat)', collect, [])
    .option('--allow-untrusted', 'report an untrusted sealer but do not fail on it')
    .option('--strict-trust', 'every record signer must be in the trust store, not only the sealer')
    .option('--receipt <file>', 'a custody record kept beside a read-only bundle (repeat, in order)', collect, []);
}
