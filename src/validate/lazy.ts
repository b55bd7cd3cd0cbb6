// onnxruntime-node loads a 30 MB native library, and only validation needs it: it is an optional peer
// dependency, imported here on first use, so `import 'se-inject'` and conversions start fast and work
// in projects that never installed it.

import { SeInjectError } from '../errors.js';
import type { ModelSource, ValidateOptions, ValidationResult } from './runtime.js';
import type { ProviderChoice, ProviderProbe, ProviderRequest } from './providers.js';

export const INSTALL_RUNTIME = 'npm install onnxruntime-node (where only the npm registry is reachable: ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node)';

/** Imports a module that needs onnxruntime-node; its absence is a one-line error saying what to install. */
async function withRuntime<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err?.code === 'ERR_MODULE_NOT_FOUND' && /onnxruntime-node/.test(err.message ?? '')) {
      throw new SeInjectError('unsupported', `validation runs on ONNX Runtime, and onnxruntime-node is not installed: ${INSTALL_RUNTIME}`, { cause: e });
    }
    throw e;
  }
}

export async function validateModels(original: ModelSource, injected: ModelSource, options: ValidateOptions = {}): Promise<ValidationResult> {
  return (await withRuntime(() => import('./runtime.js'))).validateModels(original, injected, options);
}

export async function selectProvider(requested: ProviderRequest, probe?: ProviderProbe): Promise<ProviderChoice> {
  const providers = await withRuntime(() => import('./providers.js'));
  return providers.selectProvider(requested, probe ?? providers.ortProbe);
}
