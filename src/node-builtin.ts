/**
 * A Node built-in imported at run time, on Node's code paths only. The specifier is not a literal, so browser
 * bundlers (esbuild, Vite) leave the import alone instead of failing to resolve `node:*` for the browser.
 */
export function nodeBuiltin<T>(name: 'fs' | 'os' | 'worker_threads' | 'v8'): Promise<T> {
  const specifier = `node:${name}`;
  return import(/* @vite-ignore */ specifier) as Promise<T>;
}
