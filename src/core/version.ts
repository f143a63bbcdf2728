/** custody's version, from package.json: one definition for the CLI, records, manifests and reports. */
import { createRequire } from 'node:module';

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };

export const VERSION: string = pkg.version;
export const TOOL_NAME = 'custody';
