"""A small ResNet exported with torch's export_modules_as_functions: its stem, residual blocks and
classifier head become model-local functions, each called where the module ran.

  export_functions.py OUT.onnx [blocked]
  export_functions.py OUT.onnx ref-attributes
  export_functions.py PREFIX adversarial

`blocked` also writes OUT with the block function's opset import moved off the model's (a function
se-inject must not expand), as OUT's stem + `_blocked.onnx`. `ref-attributes` writes instead a graph
built with onnx.helper whose functions take attributes from their calls (ref_attr_name) and call
each other. `adversarial` writes PREFIX_wide.onnx and PREFIX_recursive.onnx, calls no expansion may follow.
"""
import sys

import onnx
import torch
from torch import nn


class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.relu = nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Block(nn.Module):
    def __init__(self, c, stride=1):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, stride, 1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)
        self.relu = nn.ReLU()
        self.down = nn.Sequential(nn.Conv2d(c, c, 1, stride, bias=False), nn.BatchNorm2d(c)) if stride > 1 else None

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(y + (self.down(x) if self.down is not None else x))


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(x), 1))


def main(out, blocked):
    torch.manual_seed(0)
    net = nn.Sequential(Stem(), Block(16), Block(16, 2), Head()).eval()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    torch.onnx.export(net, torch.randn(1, 3, 32, 32), out, opset_version=15, input_names=["input"], output_names=["output"],
                      export_modules_as_functions={Stem, Block, Head}, do_constant_folding=True)
    m = onnx.load(out)
    onnx.checker.check_model(m, full_check=True)
    if blocked:
        for f in m.functions:
            if f.name.startswith("Block"):
                for o in f.opset_import:
                    if o.domain == "":
                        o.version = 14
        onnx.save(m, out[: -len(".onnx")] + "_blocked.onnx")


if __name__ == "__main__" and (len(sys.argv) == 2 or sys.argv[2] == "blocked"):
    main(sys.argv[1], len(sys.argv) > 2)


def ref_attributes(out):
    """Residual blocks whose branch is a call of ConvAct(x, w): a Conv whose pads refer to the call's
    `pads`, then a call of Act, whose LeakyRelu alpha refers to Act's `alpha`, which ConvAct passes on
    from its own `alpha`. The first call gives alpha; the second does not, so LeakyRelu has none
    (ONNX's default, 0.01)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    def ref(name, kind):
        a = helper.make_attribute(name, [0] if kind == onnx.AttributeProto.INTS else 0.0)
        a.ref_attr_name = name
        a.ClearField("ints" if kind == onnx.AttributeProto.INTS else "f")
        a.type = kind
        return a

    act = helper.make_function("local", "Act", ["x"], ["y"], [helper.make_node("LeakyRelu", ["x"], ["y"])],
                               [helper.make_opsetid("", 13)], attributes=[])
    act.node[0].attribute.append(ref("alpha", onnx.AttributeProto.FLOAT))
    act.attribute.append("alpha")
    conv = helper.make_node("Conv", ["x", "w"], ["c"])
    conv.attribute.append(ref("pads", onnx.AttributeProto.INTS))
    call_act = helper.make_node("Act", ["c"], ["y"], domain="local")
    call_act.attribute.append(ref("alpha", onnx.AttributeProto.FLOAT))
    conv_act = helper.make_function("local", "ConvAct", ["x", "w"], ["y"], [conv, call_act],
                                    [helper.make_opsetid("", 13), helper.make_opsetid("local", 1)], attributes=["pads", "alpha"])
    rng = np.random.default_rng(0)
    w = [numpy_helper.from_array((rng.standard_normal((8, 8, 3, 3)) * 0.2).astype(np.float32), f"w{i}") for i in range(2)]
    nodes = [
        helper.make_node("ConvAct", ["x", "w0"], ["t0"], domain="local", name="block0", pads=[1, 1, 1, 1], alpha=0.3),
        helper.make_node("Add", ["t0", "x"], ["y0"], name="add0"),
        helper.make_node("ConvAct", ["y0", "w1"], ["t1"], domain="local", name="block1", pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["t1", "y0"], ["y"], name="add1"),
    ]
    g = helper.make_graph(nodes, "ref_attributes", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 16, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 16, 16])], w)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("local", 1)], functions=[act, conv_act])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, out)


if __name__ == "__main__" and len(sys.argv) > 2 and sys.argv[2] == "ref-attributes":
    ref_attributes(sys.argv[1])


def adversarial(out_prefix):
    """Two graphs no expansion should attempt: F0 calls F1 ten times, F1 calls F2 ten times, ... 16
    levels (10^16 nodes expanded), and a function that calls itself."""
    from onnx import TensorProto, helper

    opsets = [helper.make_opsetid("", 13), helper.make_opsetid("local", 1)]
    io = dict(inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
              outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])])
    levels = 16
    fns = []
    for k in range(levels):
        if k == levels - 1:
            body = [helper.make_node("Relu", ["x"], ["y"])]
        else:
            body = [helper.make_node(f"F{k + 1}", ["x" if i == 0 else f"t{i - 1}"], ["y" if i == 9 else f"t{i}"], domain="local") for i in range(10)]
        fns.append(helper.make_function("local", f"F{k}", ["x"], ["y"], body, opsets))
    g = helper.make_graph([helper.make_node("F0", ["x"], ["y"], domain="local")], "wide", **io)
    m = helper.make_model(g, opset_imports=opsets, functions=fns)
    m.ir_version = 8
    onnx.save(m, out_prefix + "_wide.onnx")
    me = helper.make_function("local", "Me", ["x"], ["y"], [helper.make_node("Me", ["x"], ["y"], domain="local")], opsets)
    g = helper.make_graph([helper.make_node("Me", ["x"], ["y"], domain="local")], "recursive", **io)
    m = helper.make_model(g, opset_imports=opsets, functions=[me])
    m.ir_version = 8
    onnx.save(m, out_prefix + "_recursive.onnx")


if __name__ == "__main__" and len(sys.argv) > 2 and sys.argv[2] == "adversarial":
    adversarial(sys.argv[1])
