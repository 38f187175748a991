/**
 * Registers every op definition (one file per family). Entry points (convert, the CLIs, both executors, the
 * browser demo) import this module once; see docs/ARCHITECTURE.md for how to add an op.
 */
import './elementwise.js';
import './activation.js';
import './norm.js';
import './conv.js';
import './matmul.js';
import './pool.js';
import './reduce.js';
import './shape.js';
import './resize.js';
import './logic.js';
import './indexing.js';
import './rnn.js';
import './quant.js';
import './lowering.js';
