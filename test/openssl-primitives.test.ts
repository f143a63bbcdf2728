/**
 * OpenSSL under the verification core, as the CLI installs it (cli/openssl.ts),
 * changes no result: the shared suite (test/helpers/quick-primitives.ts). On
 * its own OpenSSL accepts the identity key with the (identity, 0) signature:
 * the key check before it is what refuses.
 */
import { opensslAccepts, opensslSha256, useOpenSsl } from '../src/cli/openssl.js';
import { quickPrimitivesSuite } from './helpers/quick-primitives.js';

quickPrimitivesSuite({ name: 'OpenSSL', install: useOpenSsl, sha256: opensslSha256, accepts: opensslAccepts, acceptsIdentityAlone: true });
