/** Option helpers shared by command definitions (kept free of heavy imports: help must load fast). */
import type { Command } from 'commander';

/** Commander parser for a repeatable option: `--trust a --trust b` → ['a', 'b']. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

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
    .option('--trust <pubfile>', 'also trust this key (a .pub/.pem file or a fingerprint; repeat)', collect, [])
    .option('--allow-untrusted', 'report an untrusted sealer but do not fail on it')
    .option('--strict-trust', 'every record signer must be in the trust store, not only the sealer')
    .option('--receipt <file>', 'a custody record kept beside a read-only bundle (repeat, in order)', collect, []);
}
