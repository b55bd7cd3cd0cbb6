// onnxruntime-node loads a 30 MB native library; only validation needs it. These wrappers import it on
// first use, so `import 'se-inject'` and the CLI without --validate start fast.

import type { ModelSource, ValidateOptions, ValidationResult } from './runtime.js';
import type { ProviderChoice, ProviderProbe, ProviderRequest } from './providers.js';

export async function validateModels(original: ModelSource, injected: ModelSource, options: ValidateOptions = {}): Promise<ValidationResult> {
  return (await import('./runtime.js')).validateModels(original, injected, options);
}

export async function selectProvider(requested: ProviderRequest, probe?: ProviderProbe): Promise<ProviderChoice> {
  const providers = await import('./providers.js');
  return providers.selectProvider(requested, probe ?? providers.ortProbe);
}
