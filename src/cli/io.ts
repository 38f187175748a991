/** File access for the command-line tools: clear one-line errors and never a half-written output. */
import { readFileSync, writeFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { UserError } from '../ir/graph.js';

export function readFileOrFail(path: string, what: string): Uint8Array {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UserError(`${what} ${path} does not exist`);
  }
  if (!st.isFile()) throw new UserError(`${what} ${path} is not a regular file`);
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UserError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** A text file (a config): refused above 1 MB, where no config is and a hostile one would be read whole. */
export function readTextOrFail(path: string, what: string): string {
  let size = 0;
  try {
    size = statSync(path).size;
  } catch {
    /* readFileOrFail says it does not exist */
  }
  if (size > 1 << 20) throw new UserError(`${what} ${path} is ${(size / 1e6).toFixed(0)} MB: not a config file (at most 1 MB)`);
  return new TextDecoder().decode(readFileOrFail(path, what));
}

/** Outputs this run has written: an interrupted run removes them, so it leaves no output at all. */
const written: string[] = [];

/** Writes to a temporary name beside the target, then renames: a failed run leaves nothing behind. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
    written.push(path);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* there was never a temporary file (its directory is not one) */
    }
    throw new UserError(`cannot write output file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * SIGINT / SIGTERM: one line, the outputs this run wrote removed, exit 130 / 143. JavaScript sees a signal when
 * the work in hand yields (after a calibration batch, at most seconds), never inside a write: a write is
 * synchronous and goes to a temporary name first, so nothing half-written can remain. The handler exits; should
 * a second signal come first, it exits without waiting for anything.
 */
function exitOnSignals(): void {
  let seen = false;
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const)
    process.on(signal, () => {
      if (!seen) {
        seen = true;
        for (const p of written.splice(0)) rmSync(p, { force: true });
        process.stderr.write(`interrupted by ${signal}: no output written\n`);
      }
      process.exit(code);
    });
}

export function float32FromBytes(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
}

/**
 * Lets a signal that arrived during a (synchronous) write be handled before the run reports success: Node reads
 * signals in the event loop's poll phase, which two turns of the loop are sure to pass.
 */
export async function handlePendingSignals(): Promise<void> {
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
}

/** Runs a CLI body: user errors print one line and exit 1, anything else is a bug and keeps its stack. */
export async function runCli(body: () => Promise<number> | number): Promise<number> {
  if (!process.listenerCount('SIGINT')) exitOnSignals();
  written.length = 0;
  try {
    const code = await body();
    await handlePendingSignals();
    return code;
  } catch (e) {
    if (e instanceof UserError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    // The last guard against hostile input: an allocation the checks did not foresee is still one line.
    if (e instanceof RangeError && /Invalid typed array length|Array buffer allocation failed|WebAssembly.Memory/.test(e.message)) {
      process.stderr.write(`out of memory: a tensor is too large to allocate (${e.message})\n`);
      return 1;
    }
    throw e;
  }
}
