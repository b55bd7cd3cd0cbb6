"""Small torchvision-built networks exported in several torch.onnx.export forms: the same architecture
must get SE on the same blocks whichever form it was written in (test/export-forms.test.ts).

  export_forms.py OUT_DIR MODEL FORM...     writes OUT_DIR/MODEL_FORM.onnx for each form

FORM is opset<N>, then any of _nofold (do_constant_folding=False), _dynbatch (dynamic batch),
_dynhw (dynamic batch, H and W), _initinputs (keep_initializers_as_inputs=True), _train
(TrainingMode.TRAINING, folding off), _functions (the blocks as model-local functions, opset >= 15):
op13, op9_nofold, op11_nofold_dynhw, op15_functions, ...
"""
import os
import sys

import torch
from torch import nn
from torchvision import models as tvm
from torchvision.models.efficientnet import MBConvConfig

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'fixtures'))
from export_torchvision import randomize_bn  # noqa: E402  (the fixtures' BN statistics, one home)


MODELS = {
    # (constructor, input H=W)
    "shufflenet": (lambda: tvm.ShuffleNetV2(stages_repeats=[2, 2, 2], stages_out_channels=[16, 32, 64, 128, 256], num_classes=10), 32),
    # Every MBConv block holds SE.
    "efficientnet": (lambda: tvm.efficientnet.EfficientNet([MBConvConfig(1, 3, 1, 16, 16, 1), MBConvConfig(4, 3, 2, 16, 24, 2)], dropout=0.2, num_classes=10), 32),
    # 9 of 11 blocks hold SE, 2 do not; at 32x32 the last three run at 1x1.
    "mobilenet_v3": (lambda: tvm.mobilenet_v3_small(width_mult=0.25, num_classes=10), 32),
}


def block_types(model):
    """The module classes with children, but nn.Sequential's (MBConv, InvertedResidual, ...): torch writes
    Sequential calls with duplicate attributes, which onnx's checker refuses."""
    return {type(m) for m in model.modules() if m is not model and any(True for _ in m.children()) and not isinstance(m, nn.Sequential)}


def export(name, form, out_dir):
    ctor, size = MODELS[name]
    torch.manual_seed(0)
    model = randomize_bn(ctor()).eval()
    parts = form.split("_")
    kw = dict(opset_version=int(parts[0][2:]), do_constant_folding="nofold" not in parts,
              input_names=["input"], output_names=["output"])
    if "dynbatch" in parts:
        kw["dynamic_axes"] = {"input": {0: "batch"}, "output": {0: "batch"}}
    if "dynhw" in parts:
        kw["dynamic_axes"] = {"input": {0: "batch", 2: "height", 3: "width"}, "output": {0: "batch"}}
    if "initinputs" in parts:
        kw["keep_initializers_as_inputs"] = True
    if "functions" in parts:
        kw["export_modules_as_functions"] = block_types(model)
    if "train" in parts:
        kw["training"] = torch.onnx.TrainingMode.TRAINING
    torch.manual_seed(1)
    with torch.no_grad():
        torch.onnx.export(model, torch.randn(1, 3, size, size), os.path.join(out_dir, f"{name}_{form}.onnx"), **kw)


if __name__ == "__main__":
    out_dir, name, *forms = sys.argv[1:]
    for form in forms:
        export(name, form, out_dir)
