/** Comparisons, logical ops and Where: boolean tensors (Uint8Array 0/1 on the CPU, 0.0/1.0 on the GPU). */
import { defineOp, out } from './define.js';
import { broadcastMap } from '../cpu/elementwise.js';
import * as K from '../shaders/kernels.js';
import { broadcastShape } from '../ir/tensor.js';
import type { InputView } from '../ir/op-registry.js';
import type { Node } from '../ir/graph.js';

const bools = (n: number) => new Uint8Array(n);
const inferBroadcast = (n: Node, ins: InputView[], dtype: 'bool' | 'float32' | 'int32') =>
  out(ins.map((t) => t.shape).reduce((a, b) => broadcastShape(a, b, `${n.op} ${n.name}`)), dtype);

/** A broadcasting op with a boolean result: `f` on the CPU, a WGSL condition over v0, v1 on the GPU. */
function booleanOp(name: string, arity: 1 | 2, f: (...v: number[]) => boolean, wgsl: string): void {
  defineOp({
    name, fields: [], layout: arity === 1 ? 'unary' : 'broadcast',
    infer: (n, ins) => inferBroadcast(n, ins.slice(0, arity), 'bool'),
    cpu: (n, ins) => [broadcastMap(ins.slice(0, arity), (...v) => +f(...v), bools, `${n.op} ${n.name}`)],
    gpu: (c) => c.one(K.broadcastExpr(c.node.inputs.slice(0, arity).map(c.shapeOf), c.outShape, `select(0.0, 1.0, ${wgsl})`), c.node.inputs.slice(0, arity)),
  });
}

booleanOp('Equal', 2, (a, b) => a === b, 'v0 == v1');
booleanOp('NotEqual', 2, (a, b) => a !== b, 'v0 != v1');
booleanOp('Less', 2, (a, b) => a < b, 'v0 < v1');
booleanOp('LessEqual', 2, (a, b) => a <= b, 'v0 <= v1');
booleanOp('Greater', 2, (a, b) => a > b, 'v0 > v1');
booleanOp('GreaterEqual', 2, (a, b) => a >= b, 'v0 >= v1');
booleanOp('LogicalAnd', 2, (a, b) => !!a && !!b, 'v0 != 0.0 && v1 != 0.0');
booleanOp('LogicalOr', 2, (a, b) => !!a || !!b, 'v0 != 0.0 || v1 != 0.0');
booleanOp('LogicalNot', 1, (a) => !a, 'v0 == 0.0');

/** Where(condition, x, y): x where the condition holds, else y, all three broadcast. */
defineOp({
  name: 'Where', fields: [], layout: 'broadcast',
  infer: (n, [c, x, y]) => inferBroadcast(n, [c, x, y], x.dtype === 'int32' && y.dtype === 'int32' ? 'int32' : 'float32'),
  cpu: (n, [c, x, y]) => {
    const ints = x.data instanceof Int32Array && y.data instanceof Int32Array;
    return [broadcastMap([c, x, y], (cv, xv, yv) => (cv ? xv : yv), (k) => (ints ? new Int32Array(k) : new Float32Array(k)), `Where ${n.name}`)];
  },
  gpu: (c) => c.one(K.broadcastExpr(c.node.inputs.map(c.shapeOf), c.outShape, 'select(v2, v1, v0 != 0.0)')),
});
