"""Forms of one model as other tools write them, made with onnx's Python API from a small committed model.

Usage: model_forms.py make DIR   writes DIR/<form>.onnx for every form below;
       model_forms.py diff IN OUT  prints, as JSON, what of IN that is not the SE blocks' doing differs in OUT.
"""
import copy
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference, version_converter

ROOT = os.path.join(os.path.dirname(__file__), '..', '..')


def load(name):
    return onnx.load(os.path.join(ROOT, name))


def replace_initializers(m, convert):
    inits = [convert(t) for t in m.graph.initializer]
    del m.graph.initializer[:]
    m.graph.initializer.extend(inits)
    return m


def typed(t):
    """helper.make_tensor's default: float_data / int64_data, no raw_data."""
    a = numpy_helper.to_array(t)
    if t.data_type in (TensorProto.FLOAT, TensorProto.INT64):
        return helper.make_tensor(t.name, t.data_type, t.dims, a.flatten().tolist())
    return t


def float16_int32_data(t):
    """float16 as helper.make_tensor stores it without raw: each value's bits in int32_data."""
    if t.data_type != TensorProto.FLOAT:
        return t
    return helper.make_tensor(t.name, TensorProto.FLOAT16, t.dims, numpy_helper.to_array(t).astype(np.float16).flatten().tolist())


def renamed(m, value, node):
    """Every value but the graph's inputs and outputs renamed by `value(i, old)`, every node by `node(i, old)`."""
    io = {v.name for v in m.graph.input} | {v.name for v in m.graph.output}
    names = {}
    for t in m.graph.initializer:
        names.setdefault(t.name, value(len(names), t.name))
    for n in m.graph.node:
        for o in n.output:
            if o not in io:
                names.setdefault(o, value(len(names), o))
    for t in m.graph.initializer:
        t.name = names.get(t.name, t.name)
    for i, n in enumerate(m.graph.node):
        n.input[:] = [names.get(x, x) for x in n.input]
        n.output[:] = [names.get(x, x) for x in n.output]
        n.name = node(i, n.name)
    return m


def forms():
    resnet = load('fixtures/small/tiny_resnet.onnx')
    r = lambda: copy.deepcopy(resnet)
    yield 'plain', r()
    yield 'typed_data', replace_initializers(r(), typed)
    m = replace_initializers(r(), float16_int32_data)
    for v in list(m.graph.input) + list(m.graph.output):
        v.type.tensor_type.elem_type = TensorProto.FLOAT16
    yield 'float16_int32_data', m
    yield 'value_info_inferred', shape_inference.infer_shapes(r())
    m = r()
    m.doc_string, m.graph.doc_string, m.domain, m.model_version = 'model doc', 'graph doc', 'org.example', 42
    for i, n in enumerate(m.graph.node):
        n.doc_string = f'node {i} ✓'
        for a in n.attribute:
            a.doc_string = 'attribute doc'
    m.graph.input[0].doc_string = 'input doc'
    helper.set_model_props(m, {'author': 'x', 'ключ': 'значение'})
    yield 'doc_strings_metadata', m
    m = r()
    algorithm = helper.make_graph([helper.make_node('Identity', ['fc.bias'], ['fc.bias.next'])], 'step', [],
                                  [helper.make_tensor_value_info('fc.bias.next', TensorProto.FLOAT, [10])])
    m.training_info.append(onnx.TrainingInfoProto(algorithm=algorithm, update_binding=[onnx.StringStringEntryProto(key='fc.bias', value='fc.bias.next')]))
    yield 'training_info', m
    m = r()
    m.opset_import.extend([helper.make_opsetid('ai.onnx.ml', 3), helper.make_opsetid('com.microsoft', 1)])
    yield 'unused_domains', m
    # Old torch exports: every value a number, nodes unnamed.
    yield 'numeric_names', renamed(r(), lambda i, _: str(i + 1), lambda i, _: '')
    yield 'unicode_names', renamed(r(), lambda i, old: f'张量/{old}🙂', lambda i, old: f'节点🚀{old}')
    yield 'huge_names', renamed(r(), lambda i, old: 'T' * 10000 + old, lambda i, old: 'N' * 10000 + old)
    m = r()
    convs = {n.name: n for n in m.graph.node}
    convs['/layers/layers.0/conv2/Conv'].input[1:] = convs['/layers/layers.0/conv1/Conv'].input[1:]
    yield 'shared_initializers', m
    yield 'version_converter_13_to_17', version_converter.convert_version(r(), 17)
    m = r()
    m.ir_version = 3
    m.graph.input.extend(helper.make_tensor_value_info(t.name, t.data_type, t.dims) for t in m.graph.initializer)
    yield 'ir3_initializers_as_inputs', m
    m = r()
    m.graph.input[0].type.tensor_type.ClearField('shape')
    yield 'input_without_shape', m
    # A training export's Dropout writes a bool mask; onnx's shape inference states it.
    yield 'training_dropout_value_info', shape_inference.infer_shapes(load('fixtures/families/wide_resnet_op15_training.onnx'))


def same_but_inputs(n, m):
    """Node m is n, but perhaps for its inputs; an empty name written or not is the same name."""
    rewired, written = copy.deepcopy(n), copy.deepcopy(m)
    rewired.input[:] = m.input
    for x in (rewired, written):
        if not x.name:
            x.ClearField('name')
    return rewired.SerializeToString() == written.SerializeToString()


def diff(a, b):
    """What differs, beyond the SE blocks: their nodes, weights and metadata entry, and the readers they rewire."""
    out = []
    for f in ['ir_version', 'producer_name', 'producer_version', 'domain', 'model_version', 'doc_string']:
        if getattr(a, f) != getattr(b, f):
            out.append(f)
    same_list = lambda x, y: [e.SerializeToString() for e in x] == [e.SerializeToString() for e in y]
    if not same_list(a.opset_import, b.opset_import):
        out.append('opset_import')
    if not same_list(a.metadata_props, [p for p in b.metadata_props if p.key != 'se-inject']):
        out.append('metadata_props')
    for f in ['training_info', 'functions']:
        if not same_list(getattr(a, f), getattr(b, f)):
            out.append(f)
    ga, gb = a.graph, b.graph
    for f in ['name', 'doc_string']:
        if getattr(ga, f) != getattr(gb, f):
            out.append('graph.' + f)
    if not same_list(ga.output, gb.output):
        out.append('graph.output')
    if not same_list(ga.input, [v for v in gb.input if not v.name.startswith('se/')]):
        out.append('graph.input')
    kept = lambda xs: {x.SerializeToString() for x in xs}
    for f in ['initializer', 'value_info', 'sparse_initializer']:
        if not kept(getattr(ga, f)) <= kept(getattr(gb, f)):
            out.append('graph.' + f)
    by_outputs = {tuple(n.output): n for n in gb.node}
    for n in ga.node:
        m = by_outputs.get(tuple(n.output))
        if m is None:
            out.append('node gone: ' + n.name[:60])
            continue
        if not same_but_inputs(n, m):
            out.append('node fields: ' + n.name[:60])
    return out


if __name__ == '__main__':
    if sys.argv[1] == 'make':
        for name, model in forms():
            onnx.save(model, os.path.join(sys.argv[2], name + '.onnx'))
    else:
        print(json.dumps(diff(onnx.load(sys.argv[2]), onnx.load(sys.argv[3]))))
