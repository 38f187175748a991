/** Runs the built command-line tools as a user would, capturing exit code and output. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './data.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function cli(tool: 'converter_lite' | 'benchmark', args: string[], cwd = ROOT): CliResult {
  if (!existsSync(path.join(ROOT, 'dist/cli/converter.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  // A hung tool fails its test instead of stalling the whole run (spawnSync blocks vitest's own timeouts).
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', `${tool}.js`), ...args], { cwd, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.error ? `${r.stderr}\n${r.error.message}` : r.stderr };
}
