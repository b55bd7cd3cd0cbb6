import { describe, expect, it } from 'vitest';
import { SeInjectError } from '../../src/errors.js';
import { explainOrtError, ortProbe, parseProviderRequest, selectProvider } from '../../src/validate/providers.js';
import type { ProbeResult, ProviderName } from '../../src/validate/providers.js';

/** A probe that answers from a table and records what it was asked. */
function fakeProbe(answers: Partial<Record<ProviderName, string | true>>) {
  const asked: ProviderName[] = [];
  const probe = async (ep: ProviderName): Promise<ProbeResult> => {
    asked.push(ep);
    const answer = answers[ep] ?? 'not in the fake table';
    return answer === true ? { ok: true } : { ok: false, reason: answer };
  };
  return { probe, asked };
}

describe('selectProvider', () => {
  it('auto falls back from cuda to webgpu to cpu and says why each was passed over', async () => {
    const { probe, asked } = fakeProbe({
      cuda: "provider libraries not installed (onnxruntime-node's install step fetches them; see README)",
      webgpu: 'no adapter found: No supported adapters',
      cpu: true,
    });
    const choice = await selectProvider('auto', probe);
    expect(asked).toEqual(['cuda', 'webgpu', 'cpu']);
    expect(choice).toEqual({
      ep: 'cpu',
      tried: [
        { ep: 'cuda', ok: false, reason: "provider libraries not installed (onnxruntime-node's install step fetches them; see README)" },
        { ep: 'webgpu', ok: false, reason: 'no adapter found: No supported adapters' },
        { ep: 'cpu', ok: true },
      ],
    });
  });

  it('auto stops at the first provider that runs', async () => {
    const { probe, asked } = fakeProbe({ cuda: 'no GPU', webgpu: true, cpu: true });
    expect(await selectProvider('auto', probe)).toMatchObject({ ep: 'webgpu', tried: [{ ep: 'cuda' }, { ep: 'webgpu', ok: true }] });
    expect(asked).toEqual(['cuda', 'webgpu']);
  });

  it('an explicit cuda that cannot start throws a one-line unsupported error and never falls back', async () => {
    const { probe, asked } = fakeProbe({ cuda: 'libcudart.so.12: cannot open shared object file\n(loaded from ...)', cpu: true });
    const error = await selectProvider('cuda', probe).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SeInjectError);
    expect((error as SeInjectError).kind).toBe('unsupported');
    expect((error as SeInjectError).message).not.toContain('\n');
    expect((error as SeInjectError).message).toMatch(/^--ep cuda cannot start: libcudart\.so\.12: cannot open shared object file \(loaded from \.\.\.\); install CUDA 12/);
    expect(asked).toEqual(['cuda']);
  });

  it('auto with nothing that runs throws with every reason', async () => {
    const { probe } = fakeProbe({ cuda: 'a', webgpu: 'b', cpu: 'c' });
    await expect(selectProvider('auto', probe)).rejects.toThrow(/no execution provider could run a model \(cuda: a; webgpu: b; cpu: c\)/);
  });

  it('an explicit cpu starts with the real probe', async () => {
    expect(await selectProvider('cpu')).toEqual({ ep: 'cpu', tried: [{ ep: 'cpu', ok: true }] });
  });
});

describe('ortProbe', () => {
  it('runs a one-node model on the CPU provider, once per process', async () => {
    const first = ortProbe('cpu');
    expect(await first).toEqual({ ok: true });
    expect(ortProbe('cpu')).toBe(first);
  });

  it('answers for cuda without throwing, with a one-line reason when it cannot run', async () => {
    const result = await ortProbe('cuda');
    expect(result.ok || !/\n/.test(result.reason)).toBe(true);
  });
});

describe('provider messages', () => {
  it('keeps the actionable part of an ORT error', () => {
    const message = '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(...)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters\n';
    expect(explainOrtError(message)).toBe('no adapter found: Failed to get a WebGPU adapter: No supported adapters');
  });

  it('parses --ep values and rejects others as usage errors', () => {
    expect(parseProviderRequest('webgpu')).toBe('webgpu');
    expect(() => parseProviderRequest('gpu')).toThrow(expect.objectContaining({ kind: 'usage' }));
  });
});
