// --input-shapes, as Polygraphy (`x:[1,3,224,224]`) and onnxsim (`x:1,3,224,224`) spell it: a whole
// input shape, translated into what the library binds — named dynamic dimensions (`dims`) and a
// dynamic leading dimension (`batch`); an unnamed one past it by its key (`x_dim2`). Fixed dimensions
// must agree with the model.

import { SeInjectError } from '../errors.js';
import { unnamedDimKey } from '../analysis/input-dims.js';
import type { InjectOptions } from '../inject.js';
import type { Model } from '../ir/model.js';

export function parseInputShapes(list: readonly string[] | undefined): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const item of list ?? []) {
    // The last colon separates: input names may hold colons themselves (TensorFlow's `input:0`).
    const at = item.lastIndexOf(':');
    const name = item.slice(0, at), text = item.slice(at + 1).replace(/^\[(.*)\]$/, '$1');
    const dims = text.split(',').map((d) => d.trim());
    if (at <= 0 || !dims.every((d) => /^\d+$/.test(d) && Number(d) >= 1)) {
      throw new SeInjectError('usage', `--input-shapes "${item}" must look like name:[1,3,224,224] or name:1,3,224,224 (positive integers)`);
    }
    shapes.set(name, dims.map(Number));
  }
  return shapes;
}

/** Binds the model's dynamic input dimensions to the given shapes, in `o` (a copy is returned). */
export function bindInputShapes(model: Model, shapes: ReadonlyMap<string, number[]>, o: InjectOptions): InjectOptions {
  if (!shapes.size) return o;
  const dims: Record<string, number> = { ...o.dims };
  let batch = o.batch;
  for (const [name, shape] of shapes) {
    const input = model.graph.proto.inputs.find((v) => v.name === name);
    if (!input) {
      const names = model.graph.proto.inputs.map((v) => v.name).join(', ');
      throw new SeInjectError('usage', `--input-shapes ${name}: ${model.label} has no input of that name; its inputs are ${names}`);
    }
    if (!input.type?.shape) {
      throw new SeInjectError('usage', `--input-shapes ${name}: ${model.label} declares no shape for ${name} (its rank is unknown), and only dynamic dimensions can be bound; write the shape into the model (onnx.tools.update_model_dims.update_inputs_outputs_dims)`);
    }
    const declared = input.type.shape;
    if (declared.length !== shape.length) {
      throw new SeInjectError('usage', `--input-shapes ${name}: gives ${shape.length} dimensions, but the input has ${declared.length}`);
    }
    declared.forEach((d, i) => {
      const v = shape[i]!;
      const where = `--input-shapes ${name}: dimension ${i}`;
      if (d.value !== undefined) {
        if (d.value !== v) throw new SeInjectError('usage', `${where} is fixed at ${d.value} in the model, not ${v}`);
      } else if (d.param) {
        if (dims[d.param] !== undefined && dims[d.param] !== v) throw new SeInjectError('usage', `${where} (${d.param}) is bound to ${dims[d.param]} elsewhere, not ${v}`);
        dims[d.param] = v;
      } else if (i === 0) {
        batch = v;
      } else {
        dims[unnamedDimKey(name, i)] = v;
      }
    });
  }
  return { ...o, batch, dims: Object.keys(dims).length ? dims : o.dims };
}
