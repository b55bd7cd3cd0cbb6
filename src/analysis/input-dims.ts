// The size each dimension of a model input takes for analysis and validation: its fixed value; else
// the binding of its name (dims); else the batch when it leads; else, for the height and width of an
// image input, the size se-inject analyses a dynamic image at. SE blocks do not depend on H×W
// (global pooling reads any size): only the report's H×W and MACs do, and the model written keeps
// every dimension as it was. Any other dynamic dimension must be bound.

import type { Dim } from '../ir/types.js';

/** The batch a dynamic leading dimension is analysed at unless told otherwise. */
export const DEFAULT_BATCH = 1;

/** The height and width a dynamic image (N×C×H×W or N×H×W×C) is analysed at unless told otherwise: ImageNet's. */
export const DEFAULT_IMAGE_SIZE = 224;

export interface DimBindings {
  batch?: number;
  dims?: Record<string, number>;
}

/** The name `dims` binds a dynamic dimension by that the model leaves unnamed: `<input>_dim<axis>`. */
export const unnamedDimKey = (input: string, axis: number): string => `${input}_dim${axis}`;

/** How a dimension got its size: declared in the model, bound by the caller, or one of the defaults. */
export type DimSource = 'fixed' | 'bound' | 'batch' | 'image' | 'unbound';

/**
 * The size of dimension `axis` of an input of this shape, and where it came from. `key` names the
 * dimension for the bindings where the model leaves it unnamed (unnamedDimKey).
 */
export function inputDimSize(shape: readonly Dim[], axis: number, bind: DimBindings, key?: string): { size?: number; source: DimSource } {
  const d = shape[axis]!;
  if (d.value !== undefined && d.param === undefined) return { size: d.value, source: 'fixed' };
  const name = d.param ?? key;
  if (name !== undefined && bind.dims && name in bind.dims) return { size: bind.dims[name]!, source: 'bound' };
  if (axis === 0) return { size: bind.batch ?? DEFAULT_BATCH, source: 'batch' };
  if (isImageSpatial(shape, axis)) return { size: DEFAULT_IMAGE_SIZE, source: 'image' };
  return { source: 'unbound' };
}

/**
 * Axis `axis` is a spatial axis of a 4-D image input: its channels are declared (axis 1, channels
 * first, or axis 3, channels last) and the axis is another one past the batch.
 */
function isImageSpatial(shape: readonly Dim[], axis: number): boolean {
  if (shape.length !== 4 || axis < 1) return false;
  const fixed = (i: number) => shape[i]!.value !== undefined && shape[i]!.param === undefined;
  if (fixed(1)) return axis >= 2;
  if (fixed(3)) return axis <= 2;
  return false;
}

/** The dimensions of these inputs that take the default image size: `name` (or `input axis i`) of each. */
export function defaultedImageDims(inputs: readonly { name: string; type?: { shape?: Dim[] } }[], bind: DimBindings): { input: string; axis: number; name?: string }[] {
  const out: { input: string; axis: number; name?: string }[] = [];
  for (const v of inputs) {
    const shape = v.type?.shape;
    if (!shape) continue;
    for (let axis = 0; axis < shape.length; axis++) {
      if (inputDimSize(shape, axis, bind).source === 'image') out.push({ input: v.name, axis, name: shape[axis]!.param });
    }
  }
  return out;
}

/**
 * What the report says when an image's H×W took the default: the size its shapes and MACs are at, how
 * to choose another, and that the model written stays dynamic. Undefined when nothing took it.
 */
export function imageSizeNote(inputs: readonly { name: string; type?: { shape?: Dim[] } }[], bind: DimBindings): string | undefined {
  const dims = defaultedImageDims(inputs, bind);
  if (!dims.length) return undefined;
  const names = dims.map((d) => d.name ?? `${d.input} axis ${d.axis}`);
  const bindable = dims.filter((d) => d.name !== undefined).map((d) => `${d.name}=N`);
  const how = bindable.length === dims.length ? `--dims ${bindable.join(' ')} (library: dims)` : '--input-shapes';
  return `dynamic ${names.join(' and ')} analysed at ${DEFAULT_IMAGE_SIZE}${dims.length > 1 ? ' each' : ''} (the report's H×W and MACs are at that size; the SE blocks do not depend on it); choose the size you run at with ${how}; the model written keeps ${dims.length > 1 ? 'them' : 'it'} dynamic`;
}
