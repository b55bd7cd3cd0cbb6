// --save-outputs: both models' outputs as .npy files, for a look in NumPy when validation disagrees.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { SeInjectError, describeCause } from '../errors.js';
import type { Outputs } from './compare.js';
import { writeNpy } from './npy.js';
import type { NpyArray } from './npy.js';

/** Output names may hold `/` and `:`; file names keep letters, digits, `.`, `-` and `_`. */
export function outputFileName(name: string, role: 'original' | 'injected'): string {
  return `${name.replace(/[^\w.-]/g, '_')}.${role}.npy`;
}

export async function saveOutputs(dir: string, original: Outputs, injected: Outputs): Promise<void> {
  try {
    await fsp.mkdir(dir, { recursive: true });
    for (const [role, outs] of [['original', original], ['injected', injected]] as const) {
      for (const name of outs.names) {
        const t = outs.values[name];
        if (t) await fsp.writeFile(path.join(dir, outputFileName(name, role)), writeNpy(asNpy(t)));
      }
    }
  } catch (e) {
    throw new SeInjectError('output', `cannot save outputs into ${dir}: ${describeCause(e)}`, { cause: e });
  }
}

function asNpy(t: ort.Tensor): NpyArray {
  return { type: t.type as NpyArray['type'], shape: [...t.dims], data: t.data as NpyArray['data'] };
}
