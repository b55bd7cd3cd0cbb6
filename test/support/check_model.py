"""Independent judge: onnx.checker.check_model(full_check=True) from Debian's python3-onnx.

Usage: check_model.py MODEL.onnx [...]; prints one JSON line per model: {"path", "ok", "error"?, "skipped"?}.
The model is loaded first and the ModelProto checked: given a path, onnx 1.12's full check rewrites the file.
"""
import json
import sys

import onnx
from onnx import checker

SUPPORTED_IR = onnx.IR_VERSION
SUPPORTED_OPSET = onnx.defs.onnx_opset_version()

for path in sys.argv[1:]:
    result = {"path": path}
    try:
        model = onnx.load(path)
        if model.ir_version > SUPPORTED_IR:
            result.update(ok=True, skipped=f"IR version {model.ir_version} is newer than onnx {onnx.__version__} knows ({SUPPORTED_IR})")
        elif any(o.domain in ("", "ai.onnx") and o.version > SUPPORTED_OPSET for o in model.opset_import):
            # Its schemas stop at this opset: newer ops' forms (ReduceMean's axes input from 18) are not errors.
            result.update(ok=True, skipped=f"opset newer than onnx {onnx.__version__} knows ({SUPPORTED_OPSET})")
        else:
            checker.check_model(model, full_check=True)
            result["ok"] = True
    except Exception as e:  # noqa: BLE001 - the message is the result
        result.update(ok=False, error=str(e).splitlines()[0] if str(e) else type(e).__name__)
    print(json.dumps(result), flush=True)
