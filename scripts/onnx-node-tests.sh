#!/usr/bin/env bash
# Generates ONNX's backend node tests (one model per operator case, with inputs and expected outputs) with
# Debian's python3-onnx 1.12 into the directory given (default .cache/onnx-node-tests). onnx 1.12 still uses
# numpy aliases that numpy 1.24 removed; they are restored before importing it.
set -euo pipefail
out="${1:-.cache/onnx-node-tests}"
if [ -d "$out/node" ]; then exit 0; fi
if ! /usr/bin/python3 -c 'import onnx' 2>/dev/null; then
  echo "python3-onnx is missing: apt-get install python3-onnx (Debian's onnx 1.12)" >&2
  exit 1
fi
mkdir -p "$out"
/usr/bin/python3 - "$out" <<'PY' 2>/dev/null
import sys, numpy
for name, value in [('float', float), ('int', int), ('bool', bool), ('object', object), ('complex', complex), ('str', str)]:
    if not hasattr(numpy, name):
        setattr(numpy, name, value)
from onnx.backend.test.cmd_tools import main
sys.argv = ['onnx', 'generate-data', '-o', sys.argv[1]]
main()
PY
echo "ONNX node tests generated in $out/node ($(ls "$out/node" | wc -l) cases)" >&2
