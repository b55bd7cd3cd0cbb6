#!/usr/bin/python3
"""Rewrites the SE blocks se-inject emitted into other equivalent forms, weights unchanged, for timing.

    /usr/bin/python3 bench/se_variants.py SE.onnx OUT_DIR      # writes reducemean/gemm/hardsigmoid.onnx
    /usr/bin/python3 bench/se_variants.py --count A.onnx ...   # op-type counts as JSON (ORT-optimized graphs)

se-inject writes  GlobalAveragePool -> Conv1x1 -> Relu -> Conv1x1 -> Sigmoid -> Mul(x, gate).
  reducemean      ReduceMean(axes [2,3], keepdims 1) instead of GlobalAveragePool
  gemm            Flatten -> Gemm -> Relu -> Gemm -> Sigmoid -> Unsqueeze(axes [2,3]) -> Mul: the FCs as
                  Gemm (transB=1), each conv weight [o, i, 1, 1] re-declared as [o, i]: same bytes
  hardsigmoid     HardSigmoid(alpha 1/6, beta 1/2) gate instead of Sigmoid (MobileNetV3's gate)
  reducemean_gemm both of the first two
(The resize form, the gate repeated to H x W by a nearest Resize, is se-inject's own `--form resize`.)
Blocks are found by structure, not by name, so the script also works on hand-edited outputs.
"""

import collections
import json
import os
import sys

import onnx
from onnx import helper, numpy_helper


def consumers(graph):
    out = collections.defaultdict(list)
    for n in graph.node:
        for i in n.input:
            out[i].append(n)
    return out


def find_se_blocks(graph):
    """Each SE block as a dict of its six nodes, matched from the GlobalAveragePool down the chain."""
    users = consumers(graph)

    def only_user(node, op):
        us = users[node.output[0]]
        return us[0] if len(us) == 1 and us[0].op_type == op else None

    blocks = []
    for pool in graph.node:
        if pool.op_type != "GlobalAveragePool":
            continue
        fc1 = only_user(pool, "Conv")
        relu = fc1 and only_user(fc1, "Relu")
        fc2 = relu and only_user(relu, "Conv")
        gate = fc2 and only_user(fc2, "Sigmoid")
        mul = gate and only_user(gate, "Mul")
        if mul and pool.input[0] in mul.input:
            blocks.append(dict(pool=pool, fc1=fc1, relu=relu, fc2=fc2, gate=gate, mul=mul))
    return blocks


def to_reducemean(graph, b):
    pool = b["pool"]
    # Opset 13: ReduceMean takes axes as an attribute (an input only from opset 18).
    new = helper.make_node("ReduceMean", list(pool.input), list(pool.output), name=pool.name + "_rm", axes=[2, 3], keepdims=1)
    pool.CopyFrom(new)


def to_gemm(graph, b):
    inits = {t.name: t for t in graph.initializer}
    pooled = b["fc1"].input[0]
    flat = pooled + "_flat"
    graph.node.insert(list(graph.node).index(b["fc1"]), helper.make_node("Flatten", [pooled], [flat], name=b["fc1"].name + "_flatten", axis=1))
    for key, src in (("fc1", flat), ("fc2", None)):
        conv = b[key]
        w = inits[conv.input[1]]
        del w.dims[2:]  # [o, i, 1, 1] -> [o, i]: raw bytes unchanged
        inputs = [src or conv.input[0]] + list(conv.input[1:])
        conv.CopyFrom(helper.make_node("Gemm", inputs, list(conv.output), name=conv.name + "_gemm", transB=1))
    gate = b["gate"]
    axes = gate.output[0] + "_axes"
    graph.initializer.append(numpy_helper.from_array(__import__("numpy").array([2, 3], dtype="int64"), axes))
    unsq = gate.output[0] + "_4d"
    graph.node.insert(list(graph.node).index(gate) + 1, helper.make_node("Unsqueeze", [gate.output[0], axes], [unsq], name=gate.name + "_unsqueeze"))
    mul = b["mul"]
    mul.input[list(mul.input).index(gate.output[0])] = unsq


def to_hardsigmoid(graph, b):
    gate = b["gate"]
    gate.CopyFrom(helper.make_node("HardSigmoid", list(gate.input), list(gate.output), name=gate.name + "_hs", alpha=1 / 6, beta=0.5))


FORMS = {
    "reducemean": [to_reducemean],
    "gemm": [to_gemm],
    "hardsigmoid": [to_hardsigmoid],
    "reducemean_gemm": [to_reducemean, to_gemm],
}


def write_variants(src, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for form, rewrites in FORMS.items():
        m = onnx.load(src)
        blocks = find_se_blocks(m.graph)
        if not blocks:
            sys.exit(f"{src}: no SE block (GlobalAveragePool -> Conv -> Relu -> Conv -> Sigmoid -> Mul) found")
        for b in blocks:
            for rewrite in rewrites:
                rewrite(m.graph, b)
        # Value infos of rewritten tensors (1x1 spatial dims) would now be wrong: drop them all.
        del m.graph.value_info[:]
        onnx.checker.check_model(m)
        path = os.path.join(out_dir, f"{form}.onnx")
        onnx.save(m, path)
        written[form] = {"path": path, "blocks": len(blocks)}
    print(json.dumps(written))


def count_ops(paths):
    out = {}
    for p in paths:
        m = onnx.load(p, load_external_data=False)
        # The domain tells ORT's NCHWc-layout kernels (com.microsoft.nchwc) from plain ONNX ones.
        ops = collections.Counter(f"{n.domain.split('.')[-1]}:{n.op_type}" if n.domain else n.op_type for n in m.graph.node)
        out[os.path.basename(p)] = dict(sorted(ops.items()))
    print(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--count":
        count_ops(sys.argv[2:])
    elif len(sys.argv) == 3:
        write_variants(sys.argv[1], sys.argv[2])
    else:
        sys.exit(__doc__)
