/** Runs the built command-line tools as a user would, capturing exit code and output. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './data.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

type Tool = 'converter_lite' | 'benchmark';

function checkBuilt(): void {
  if (!existsSync(path.join(ROOT, 'dist/cli/converter.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
}

/** The Node flags on a tool's shebang line (what the installed command runs with), then the script. */
export function toolArgv(tool: Tool): string[] {
  const script = path.join(ROOT, 'bin', `${tool}.js`);
  const shebang = readFileSync(script, 'utf8').split('\n')[0];
  return [...shebang.replace(/^#!.*?\bnode\b/, '').trim().split(/\s+/).filter(Boolean), script];
}

export function cli(tool: Tool, args: string[], cwd = ROOT): CliResult {
  checkBuilt();
  // A hung tool fails its test instead of stalling the whole run (spawnSync blocks vitest's own timeouts).
  const r = spawnSync(process.execPath, [...toolArgv(tool), ...args], { cwd, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.error ? `${r.stderr}\n${r.error.message}` : r.stderr };
}

/**
 * The same, without blocking the test worker: for runs over a minute, where a blocked worker misses vitest's
 * own RPC deadline ("Timeout calling onTaskUpdate") and the run reports an error.
 */
export function cliAsync(tool: Tool, args: string[], cwd = ROOT): Promise<CliResult> {
  checkBuilt();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...toolArgv(tool), ...args], { cwd, timeout: 300_000 });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => (stderr += `\n${e.message}`));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
