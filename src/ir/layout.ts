/** NCHW <-> NHWC helpers shared by importers and the transpose pass. */
import { Graph, Format, TensorData } from './graph.js';
import { permute } from './tensor.js';

export const NCHW_TO_NHWC = [0, 2, 3, 1];
export const NHWC_TO_NCHW = [0, 3, 1, 2];

export function composePerm(first: number[], second: number[]): number[] {
  // y = transpose(transpose(x, first), second)  =>  y.dim[i] = x.dim[first[second[i]]]
  return second.map((p) => first[p]);
}

export function inversePerm(p: number[]): number[] {
  const inv = new Array<number>(p.length);
  p.forEach((v, i) => (inv[v] = i));
  return inv;
}

export function isIdentity(p: number[]): boolean {
  return p.every((v, i) => v === i);
}

export function permuteConst<T extends TensorData>(data: T, shape: number[], perm: number[]): { data: T; shape: number[] } {
  const r = permute({ shape, data }, perm);
  return { data: r.data as T, shape: r.shape };
}

/**
 * Adds Transpose(input, perm) named `name` (perm constant `<name>_perm`) writing `output` (a new tensor when
 * absent) and returns the output tensor id.
 */
export function addTranspose(g: Graph, input: number, perm: number[], name: string, output?: number): number {
  const permId = g.addConst(`${name}_perm`, Int32Array.from(perm), [perm.length]);
  const out = output ?? g.addTensor({ name, format: perm.join() === NHWC_TO_NCHW.join() ? Format.NCHW : Format.NHWC });
  g.addNode({ name, op: 'Transpose', inputs: [input, permId], outputs: [out] });
  return out;
}
