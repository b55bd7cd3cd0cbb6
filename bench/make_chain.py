"""Generated long graphs for the node-count bench, written with onnx.helper (public tools only).

  chain BLOCKS OUT   a residual chain t' = Add(t, Conv1x1(t)), 16 channels at 8x8: 2*BLOCKS+1 nodes
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

C, HW = 16, 8


def chain(blocks, out):
    rng = np.random.default_rng(0)
    nodes, inits = [], []
    t = 'x'
    for i in range(blocks):
        w = numpy_helper.from_array(rng.standard_normal((C, C, 1, 1), dtype=np.float32) * 0.05, f'w{i}')
        b = numpy_helper.from_array(np.zeros(C, dtype=np.float32), f'b{i}')
        inits += [w, b]
        nodes.append(helper.make_node('Conv', [t, w.name, b.name], [f'c{i}'], name=f'conv{i}', kernel_shape=[1, 1]))
        nodes.append(helper.make_node('Add', [f'c{i}', t], [f't{i}'], name=f'add{i}'))
        t = f't{i}'
    nodes.append(helper.make_node('Relu', [t], ['y'], name='out'))
    g = helper.make_graph(nodes, 'chain', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, C, HW, HW])],
                          [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, C, HW, HW])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)], producer_name='se-inject-bench')
    m.ir_version = 8
    onnx.save(m, out)


if __name__ == '__main__':
    chain(int(sys.argv[2]), sys.argv[3])
