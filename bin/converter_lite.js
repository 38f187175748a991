#!/usr/bin/env node
import { converterMain } from '../dist/cli/converter.js';
// A closed pipe (e.g. `| head`) is the reader's choice, not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
// exit() rather than exitCode: a WebGPU device used for calibration keeps the event loop alive.
process.exit(await converterMain(process.argv.slice(2)));
