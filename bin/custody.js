#!/usr/bin/env node
// Starts the compiled CLI; `npm ci` builds dist/ through the `prepare` script.
import { main } from '../dist/cli/entry.js';

main(process.argv);
