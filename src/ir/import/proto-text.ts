/**
 * Protocol buffers text format (what a Caffe `.prototxt` is), read without a schema: every field becomes a
 * list of its values (a scalar, an enum name, a string or a nested message), in file order. The readers of
 * Caffe's layers ask for one value or all of them (`one`, `all`), which is what proto2's optional and repeated
 * fields mean; unknown fields are simply never asked for.
 *
 * Grammar: `name: value`, `name { ... }`, `name: { ... }`, `name < ... >`, `name: [v, v]`; values are numbers
 * (incl. `inf`, `nan`, hex), identifiers (enum names, `true`/`false`) or quoted strings with C escapes, adjacent
 * strings concatenated; `#` comments; `,` or `;` may separate fields.
 */
import { UserError } from '../graph.js';

export type TextValue = number | string | boolean | TextMessage;
export interface TextMessage {
  [field: string]: TextValue[];
}

type Token = { kind: 'ident' | 'number' | 'string' | 'punct'; text: string; value?: number | string; line: number };

function tokenize(src: string, file: string): Token[] {
  const tokens: Token[] = [];
  let i = 0, line = 1;
  while (i < src.length) {
    const c = src[i];
    if (c === '\n') { line++; i++; continue; }
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === '#') { while (i < src.length && src[i] !== '\n') i++; continue; }
    if ('{}[]<>:,;'.includes(c)) { tokens.push({ kind: 'punct', text: c, line }); i++; continue; }
    if (c === '"' || c === "'") {
      let s = '';
      i++;
      while (i < src.length && src[i] !== c) {
        if (src[i] === '\n') throw new UserError(`${file}:${line}: unterminated string`);
        if (src[i] === '\\') {
          const e = src[++i];
          const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };
          if (e in simple) { s += simple[e]; i++; } else if (/[0-7]/.test(e)) {
            const m = /^[0-7]{1,3}/.exec(src.slice(i))![0];
            s += String.fromCharCode(parseInt(m, 8));
            i += m.length;
          } else if (e === 'x') {
            const m = /^[0-9a-fA-F]{1,2}/.exec(src.slice(i + 1))?.[0] ?? '';
            s += String.fromCharCode(parseInt(m || '0', 16));
            i += 1 + m.length;
          } else { s += e; i++; }
        } else s += src[i++];
      }
      if (i >= src.length) throw new UserError(`${file}:${line}: unterminated string`);
      i++;
      const prev = tokens[tokens.length - 1];
      // Adjacent string literals are one string, as in C.
      if (prev?.kind === 'string') prev.value = (prev.value as string) + s;
      else tokens.push({ kind: 'string', text: s, value: s, line });
      continue;
    }
    const m = /^(-?\s*(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[fF]?)|^(-?[A-Za-z_][A-Za-z0-9_.]*)/.exec(src.slice(i));
    if (!m) throw new UserError(`${file}:${line}: unexpected ${/[\x21-\x7e]/.test(c) ? `character '${c}'` : `byte 0x${c.charCodeAt(0).toString(16)}`} in protobuf text`);
    const text = m[0];
    if (m[1] !== undefined) {
      const clean = text.replace(/\s/g, '');
      const hex = /0[xX]/.test(clean);
      // A float may carry C's `f` suffix; in hex, F is a digit.
      const value = hex ? (clean.startsWith('-') ? -1 : 1) * parseInt(clean.replace('-', ''), 16) : Number(clean.replace(/[fF]$/, ''));
      tokens.push({ kind: 'number', text, value, line });
    } else tokens.push({ kind: 'ident', text, line });
    i += text.length;
  }
  return tokens;
}

/** Parses a whole text-format message. */
export function parseProtoText(src: string, file: string): TextMessage {
  const tokens = tokenize(src, file);
  let p = 0;
  const peek = () => tokens[p];
  const fail = (msg: string): never => {
    throw new UserError(`${file}:${(peek() ?? tokens[tokens.length - 1])?.line ?? 1}: ${msg} in protobuf text`);
  };
  const expect = (text: string) => {
    if (peek()?.text !== text) fail(`expected '${text}', found '${peek()?.text ?? 'end of file'}'`);
    p++;
  };
  const scalar = (): TextValue => {
    const t = tokens[p++];
    if (!t) return fail('expected a value');
    if (t.kind === 'number' || t.kind === 'string') return t.value!;
    if (t.kind === 'ident') {
      const lower = t.text.toLowerCase();
      if (lower === 'true' || lower === 't') return true;
      if (lower === 'false' || lower === 'f') return false;
      if (/^-?(inf|infinity)$/.test(lower)) return lower.startsWith('-') ? -Infinity : Infinity;
      if (/^-?nan$/.test(lower)) return NaN;
      return t.text; // an enum name
    }
    return fail(`unexpected '${t.text}'`);
  };
  const message = (close: string | undefined): TextMessage => {
    const msg: TextMessage = {};
    for (;;) {
      const t = peek();
      if (!t) {
        if (close) fail(`missing '${close}'`);
        return msg;
      }
      if (close && t.text === close) { p++; return msg; }
      if (t.kind !== 'ident') fail(`expected a field name, found '${t.text}'`);
      const name = t.text;
      p++;
      const values = (msg[name] ??= []);
      if (peek()?.text === ':') p++;
      const open = peek()?.text;
      if (open === '{' || open === '<') {
        p++;
        values.push(message(open === '{' ? '}' : '>'));
      } else if (open === '[') {
        p++;
        while (peek()?.text !== ']') {
          const o = peek()?.text;
          if (o === '{' || o === '<') { p++; values.push(message(o === '{' ? '}' : '>')); } else values.push(scalar());
          if (peek()?.text === ',') p++;
          else if (peek()?.text !== ']') expect(']');
        }
        p++;
      } else values.push(scalar());
      if (peek()?.text === ',' || peek()?.text === ';') p++;
    }
  };
  return message(undefined);
}

/** The field's single value (proto2 optional: the last one written wins), or `def`. */
export function one<T extends TextValue>(m: TextMessage | undefined, field: string, def: T): T;
export function one(m: TextMessage | undefined, field: string): TextValue | undefined;
export function one(m: TextMessage | undefined, field: string, def?: TextValue): TextValue | undefined {
  const v = m?.[field];
  return v?.length ? v[v.length - 1] : def;
}

/** All of a repeated field's values. */
export function all(m: TextMessage | undefined, field: string): TextValue[] {
  return m?.[field] ?? [];
}
