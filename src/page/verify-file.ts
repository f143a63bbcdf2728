/**
 * The page's use case: a chosen file and a typed fingerprint → the verdict of
 * the shared verification core (src/bundle/verify.ts), the same checks, ids
 * and texts as `custody verify`. Nothing here touches the DOM, so a test can
 * run it in Node against the CLI's engine.
 *
 * Trust comes from the typed fingerprint alone: while the bundle streams past,
 * the key in custody/sealer.pem is trusted if (and only if) its SHA-256
 * fingerprint is the one typed — what `custody trust add --from <bundle>
 * --fingerprint <fp>` does. The core reads the trusted keys only after the
 * stream has ended (seal.trust and the chain run after the read), so the key
 * found during the read is in place when trust is decided.
 *
 * Threat guarded against: a page that trusts the bundle's own key without the
 * out-of-band fingerprint, or trusts a key whose 16-digit key id merely matches.
 */
import type { Hasher } from '../core/hasher.js';
import { verifyBundle, type BundleSink, type BundleVerdict, type ReadMode } from '../bundle/verify.js';
import { fingerprint } from '../custody/ed25519.js';
import { spkiPemToPublicKey } from '../custody/pem.js';
import * as L from '../bundle/layout.js';

export interface PageVerifyRequest {
  source: AsyncIterable<Uint8Array>;
  engine: Hasher;
  /** 64 lowercase hex digits (parseFingerprintInput), or undefined: nothing is trusted. */
  fingerprint?: string;
  mode?: ReadMode;
  allowUntrusted?: boolean;
  onProgress?: (payloadDone: number, payloadTotal: number) => void;
  now?: Date;
}

export interface PageVerdict {
  verdict: BundleVerdict;
  /** The fingerprint of custody/sealer.pem as read (absent when unreadable), to compare with the one typed. */
  bundleFingerprint?: string;
}

const NO_WRITE = { write: async () => {}, end: async () => {} };

export async function verifyWithFingerprint(req: PageVerifyRequest): Promise<PageVerdict> {
  const trusted: Uint8Array[] = [];
  let bundleFingerprint: string | undefined;
  const sink: BundleSink = {
    beginPayload: async () => NO_WRITE,
    tagFile: async (rel, bytes) => {
      if (rel !== L.SEALER_PEM) return;
      let key: Uint8Array;
      try {
        key = spkiPemToPublicKey(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
      } catch {
        return; // seal.key says why
      }
      bundleFingerprint = fingerprint(key);
      if (req.fingerprint !== undefined && bundleFingerprint === req.fingerprint) trusted.push(key);
    },
  };
  const verdict = await verifyBundle(req.source, {
    engine: req.engine,
    mode: req.mode ?? 'pieces',
    trusted,
    allowUntrusted: req.allowUntrusted === true,
    strictTrust: false,
    sink,
    ...(req.onProgress ? { onProgress: req.onProgress } : {}),
    ...(req.now ? { now: req.now } : {}),
  });
  return bundleFingerprint === undefined ? { verdict } : { verdict, bundleFingerprint };
}
