#!/usr/bin/env -S node --no-concurrent-array-buffer-sweeping
// The flag: V8 frees ArrayBuffers on the main thread. Freed from its background sweeper instead, glibc spreads
// a calibration's many short-lived tensors over more malloc arenas and the peak RSS creeps up with the set's
// size (mnist-8: 122 MiB for 100 samples, up to 150 for 10,000; 126 with the flag). test/helpers/cli.ts runs
// the tools with these shebang flags, as the installed commands run.
import { converterMain } from '../dist/cli/converter.js';
// A closed pipe (e.g. `| head`) is the reader's choice, not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
// exit() rather than exitCode: a WebGPU device used for calibration keeps the event loop alive.
process.exit(await converterMain(process.argv.slice(2)));
