/**
 * npm run stress:pool — the WebAssembly kernel pool under load: --calls kernel calls (default 10,000) of every
 * kernel that splits its work, while --busy processes (default 4) spin on the cores, the shared memory growing
 * in between; each output compared with the same call on one thread. Prints the errors and mismatches (both
 * must be 0) and exits 1 when there are any. WEBPTQ_THREADS sets the pool's threads (default: the cores).
 *
 *   npm run stress:pool [-- --calls=10000 --busy=4 --only=<kernel name part>]
 */
import { stressPool, busyProcesses } from '../test/helpers/pool-stress.js';
import { wasmKernels } from '../src/cpu/wasm/index.js';

const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def;
const calls = Number(arg('calls', '10000')), busy = Number(arg('busy', '4'));
const k = wasmKernels();
process.stderr.write(`pool: ${k ? k.workers + 1 : 0} threads; ${busy} busy processes; ${calls} calls\n`);
const load = busyProcesses(busy);
const t0 = performance.now();
const r = stressPool(calls, 25, (done) => done % 5000 === 0 && process.stderr.write(`  ${done} calls, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`), arg('only', '') || undefined);
load.stop();
console.log(`${r.calls} calls (${r.splitCalls} split over threads) in ${((performance.now() - t0) / 1000).toFixed(1)} s, memory ${r.memoryMiB} MiB: ${r.errors.length} errors, ${r.mismatches.length} outputs differing from one thread`);
for (const line of [...r.errors, ...r.mismatches].slice(0, 20)) console.log(`  ${line}`);
process.exit(r.errors.length || r.mismatches.length ? 1 : 0);
