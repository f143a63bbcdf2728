/** Set up for every test file: the temp folders it made are removed once its tests are done. */
import { afterAll } from 'vitest';
import { removeTempDirs } from './cli.js';

afterAll(removeTempDirs);
