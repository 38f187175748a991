/**
 * The kernel thread pool under load (the short version of `npm run stress:pool`): every kernel that splits its
 * work, called over and over on every thread while busy processes keep the cores oversubscribed and the
 * shared memory grows; no call may fail and every output must be byte-identical to one thread's. The second
 * case pauses the caller between posting a part and waking its worker, where the old pool raced (a worker
 * woken late ran its part twice: "2 of 1 parts done").
 */
import { describe, it, expect } from 'vitest';
import { wasmKernels } from '../src/cpu/wasm/index.js';
import { stressPool, busyProcesses } from './helpers/pool-stress.js';
import { spawn } from 'node:child_process';
import { ROOT } from './helpers/data.js';

/** The stress script in a child process with `env` (the pool reads its settings at start-up). */
function stressScript(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/pool-stress.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 280_000 });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.resume();
    child.on('close', (code) => resolve({ code: code ?? -1, stdout }));
  });
}

describe('kernel thread pool under load', () => {
  it('1,500 split calls of every kernel with 4 busy processes: 0 errors, outputs equal one thread byte for byte', (t) => {
    const k = wasmKernels();
    if (!k || k.workers === 0) return t.skip();
    const load = busyProcesses(4);
    try {
      const r = stressPool(1500);
      console.log(`${r.calls} calls, ${r.splitCalls} split over ${k.workers + 1} threads, memory grew to ${r.memoryMiB} MiB`);
      expect(r.errors).toEqual([]);
      expect(r.mismatches).toEqual([]);
      expect(r.splitCalls).toBeGreaterThan(1000);
    } finally {
      load.stop();
    }
  }, 300_000);

  it('the caller descheduled between posting and waking (0.3 ms pauses there), 4 threads on the cores: 0 errors', async () => {
    const r = await stressScript(['--calls=1500', '--busy=2'], { WEBPTQ_POOL_POST_PAUSE_MS: '0.3', WEBPTQ_THREADS: '4' });
    console.log(r.stdout.trim());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/: 0 errors, 0 outputs differing from one thread/);
  }, 300_000);
});
