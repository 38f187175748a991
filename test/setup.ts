// Every test sees the op definitions, as every entry point of the project does (src/ops/index.ts).
import '../src/ops/index.js';
