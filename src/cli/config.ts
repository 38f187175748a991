/**
 * Quantization config files in both dialects: MindSpore's INI sections (`[common_quant_param]` ...) and the
 * r1.x flat `key=value` form. Values are trimmed strings; validation belongs to the users of each key.
 */
import { UserError } from '../ir/graph.js';

export interface ConfigFile {
  file: string;
  /** section -> key -> value; flat files use the section "". */
  sections: Map<string, Map<string, string>>;
}

export function parseConfig(text: string, file: string): ConfigFile {
  const sections = new Map<string, Map<string, string>>([['', new Map()]]);
  let current = '';
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/^\uFEFF/, '').trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;
    const sec = /^\[([^\]]+)\]$/.exec(line);
    if (sec) {
      current = sec[1].trim();
      if (!sections.has(current)) sections.set(current, new Map());
      return;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new UserError(`${file}:${i + 1}: expected key=value, got "${line}"`);
    sections.get(current)!.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  });
  return { file, sections };
}

export function section(c: ConfigFile, name: string): Map<string, string> {
  return c.sections.get(name) ?? new Map();
}

/** Warns about keys nobody reads: a typo should not pass silently. */
export function warnUnknownKeys(c: ConfigFile, known: Record<string, readonly string[]>, warn: (s: string) => void): void {
  for (const [sec, keys] of c.sections)
    for (const k of keys.keys())
      if (!(known[sec] ?? []).includes(k)) warn(`WARNING: ${c.file}: unknown key "${k}"${sec ? ` in [${sec}]` : ''} is ignored`);
}

export function parseBool(v: string, key: string, file: string): boolean {
  const s = v.toLowerCase();
  if (s === 'true') return true;
  if (s === 'false') return false;
  throw new UserError(`${file}: ${key} must be true or false, got "${v}"`);
}

export function parseIntIn(v: string, key: string, lo: number, hi: number, file: string): number {
  const n = Number(v);
  if (!/^-?\d+$/.test(v) || n < lo || n > hi) throw new UserError(`INPUT ILLEGAL: ${key} should be [${lo},${hi}]. (${file}: got "${v}")`);
  return n;
}
