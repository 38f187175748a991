/**
 * The direction of dependencies between folders (docs/ARCHITECTURE.md): the graph IR knows nothing of the
 * executors, shaders, op definitions or quantizers; quantization depends on no GPU code; and every op the
 * importers can emit has one definition.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './helpers/data.js';
import { allOps } from '../src/ir/op-registry.js';
import { hasLowering } from '../src/gpu/lowering.js';
import { RUNTIME_LOADABLE_OPS } from '../src/ir/schema/runtime-ops.js';

const SRC = path.join(ROOT, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Project-relative paths of the modules a file imports (static imports and re-exports). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|import\s+'(\.[^']+)'/g)]
    .map((m) => path.relative(ROOT, path.resolve(path.dirname(file), m[1] ?? m[2])));
}

const RULES: [string, RegExp][] = [
  ['src/ir/', /^src\/(cpu|gpu|quant|shaders|ops|cli|data)\/|^src\/(calibrate|convert)\./],
  ['src/quant/', /^src\/(gpu|shaders|cli)\/|^src\/calibrate\./],
  ['src/shaders/', /^src\/(cpu|gpu|quant|ops|cli)\//],
  ['src/cpu/', /^src\/(gpu|shaders|cli)\//],
];

describe('dependency direction', () => {
  for (const [folder, forbidden] of RULES)
    it(`${folder} imports none of ${forbidden.source}`, () => {
      const bad = files(path.join(ROOT, folder)).flatMap((f) => importsOf(f).filter((i) => forbidden.test(i)).map((i) => `${path.relative(ROOT, f)} -> ${i}`));
      expect(bad).toEqual([]);
    });

  it('the checker sees imports (a rule that could not fail would prove nothing)', () => {
    expect(importsOf(path.join(SRC, 'cpu/executor.ts'))).toContain('src/ops/index.js');
  });
});

describe('op registry', () => {
  it('every op an importer emits has a definition with a shape rule and a CPU kernel', () => {
    const emitted = new Set<string>();
    for (const f of files(path.join(SRC, 'ir/import')))
      for (const m of readFileSync(f, 'utf8').matchAll(/\b(?:emit|emitNHWC|emitNamed|emitChannelsLast|addNode)\(\s*(?:\{[^}]*op:\s*)?'([A-Z][A-Za-z0-9]*)'/g)) emitted.add(m[1]);
    expect(emitted.size).toBeGreaterThan(15);
    const defined = new Map(allOps().map((d) => [d.name, d]));
    // Placeholders that passes replace with primitive ops once shapes are known (passes/unroll-rnn,
    // passes/lower-with-shapes): never run, never written (test/model-coverage checks no .ms keeps one).
    const loweredByPasses = ['LowerWithShapes', 'RnnToUnroll'];
    for (const op of emitted) {
      if (loweredByPasses.includes(op)) {
        expect(defined.get(op)?.infer, `${op} has no shape rule`).toBeDefined();
        continue;
      }
      // MindSpore Lite's runtime must be able to load it (a parameter populate function exists).
      expect(RUNTIME_LOADABLE_OPS.has(op), `${op} is not loadable by MindSpore Lite's runtime`).toBe(true);
      expect(defined.has(op), `${op} has no definition`).toBe(true);
      expect(defined.get(op)!.cpu ?? defined.get(op)!.int8Kernel, `${op} has no CPU kernel`).toBeDefined();
    }
  });

  it('every op with a float CPU kernel has a GPU lowering, except a named few that run on the host', () => {
    // Fold away before any executor sees them.
    const foldOnly = ['Shape', 'Size', 'ConstantOfShape', 'FusedBatchNorm', 'NonZero', 'Fill', 'Rank'];
    // Run on the CPU between GPU segments (GpuExecutor): sequential recurrences, sorts, scatters and gathers
    // with data-dependent addresses, and norms no calibration model has needed on the device yet.
    const onHost = ['InstanceNorm', 'LRN', 'OneHot', 'Range', 'ArgMaxFusion', 'ArgMinFusion', 'TopKFusion', 'CumSum',
      'GatherD', 'GatherNd', 'ScatterNdUpdate', 'ScatterElements', 'LSTM', 'GRU', 'ReverseSequence', 'Unstack', 'L2NormalizeFusion'];
    const missing = allOps().filter((d) => d.cpu && !hasLowering(d.name)).map((d) => d.name);
    expect(missing.sort()).toEqual([...foldOnly, ...onHost].sort());
  });
});
