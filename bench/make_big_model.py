#!/usr/bin/python3
"""A synthetic ResNet-like CNN whose weights pass protobuf's 2 GiB limit, stored as external data.

    /usr/bin/python3 bench/make_big_model.py                      # 30 blocks, 1024 ch: ~2.1 GiB
    /usr/bin/python3 bench/make_big_model.py --blocks 8 --out bench/out/big8   # same graph, ~0.6 GB

Each block is Conv3x3 -> Relu -> Conv3x3 -> Add(identity) -> Relu, the shape se-inject's residual pass
matches, on a 1 x C x 7 x 7 input so ONNX Runtime can run it in a second. One 3x3 conv at C = 1024 is
37.7 MB of float32; 30 blocks (60 convs) make 2.26 GB > 2 GiB.

Memory stays bounded: each weight is drawn, written to weights.bin and dropped before the next one,
and the TensorProtos only carry location/offset/length entries (data_location = EXTERNAL). The model
protobuf itself is a few kilobytes. Nothing here ever holds more than one conv's weights.
"""

import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper

ALIGN = 4096  # page-aligned offsets let ORT mmap each tensor


def external_tensor(name, dims, location, offset, length):
    """A float32 TensorProto whose bytes live in `location` at `offset`."""
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", str(offset)), ("length", str(length))):
        entry = t.external_data.add()
        entry.key, entry.value = key, value
    return t


class WeightWriter:
    """Appends arrays to one data file at aligned offsets and returns external TensorProtos."""

    def __init__(self, path, rng):
        self.file = open(path, "wb")
        self.location = os.path.basename(path)
        self.rng = rng
        self.offset = 0

    def add(self, name, dims, std):
        pad = (-self.offset) % ALIGN
        if pad:
            self.file.write(b"\0" * pad)
            self.offset += pad
        # float32 directly: a float64 draw would double the transient memory of the largest tensor.
        data = self.rng.standard_normal(size=dims, dtype=np.float32)
        data *= std
        raw = data.tobytes()
        self.file.write(raw)
        tensor = external_tensor(name, dims, self.location, self.offset, len(raw))
        self.offset += len(raw)
        return tensor

    def close(self):
        self.file.close()


def build(blocks, channels, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    weights = WeightWriter(os.path.join(out_dir, "weights.bin"), np.random.default_rng(0))
    # He std scaled down 10x: 30 residual additions of random convs would otherwise grow without bound.
    std = 0.1 * np.sqrt(2.0 / (9 * channels))
    nodes, inits = [], []
    x = "input"
    for b in range(blocks):
        p = f"block{b}"
        w1 = weights.add(f"{p}.conv1.weight", [channels, channels, 3, 3], std)
        w2 = weights.add(f"{p}.conv2.weight", [channels, channels, 3, 3], std)
        # Biases are tiny: inline raw_data, as exporters write small tensors.
        b1 = helper.make_tensor(f"{p}.conv1.bias", TensorProto.FLOAT, [channels], np.zeros(channels, np.float32).tobytes(), raw=True)
        b2 = helper.make_tensor(f"{p}.conv2.bias", TensorProto.FLOAT, [channels], np.zeros(channels, np.float32).tobytes(), raw=True)
        inits += [w1, b1, w2, b2]
        conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])
        nodes += [
            helper.make_node("Conv", [x, w1.name, b1.name], [f"{p}/c1"], name=f"{p}/conv1", **conv),
            helper.make_node("Relu", [f"{p}/c1"], [f"{p}/r1"], name=f"{p}/relu1"),
            helper.make_node("Conv", [f"{p}/r1", w2.name, b2.name], [f"{p}/c2"], name=f"{p}/conv2", **conv),
            helper.make_node("Add", [f"{p}/c2", x], [f"{p}/sum"], name=f"{p}/add"),
            helper.make_node("Relu", [f"{p}/sum"], [f"{p}/out"], name=f"{p}/relu2"),
        ]
        x = f"{p}/out"
    weights.close()
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"], name="pool"))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["output"], name="flatten"))
    graph = helper.make_graph(
        nodes, "big_resnet", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, channels, 7, 7])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, channels])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="se-inject bench")
    model.ir_version = 7
    # onnx.save would try to load external data it does not hold; the proto is written as it is.
    path = os.path.join(out_dir, "model.onnx")
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    onnx.checker.check_model(path)  # path form: checks external data locations without loading them
    return path, weights.offset


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--blocks", type=int, default=30, help="residual blocks (2 convs each)")
    ap.add_argument("--channels", type=int, default=1024)
    ap.add_argument("--out", default="bench/out/big", help="folder for model.onnx + weights.bin")
    a = ap.parse_args()
    path, data_bytes = build(a.blocks, a.channels, a.out)
    print(f"{path}: {a.blocks} blocks, {2 * a.blocks} convs, weights.bin {data_bytes / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
