import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SeInjectError } from '../../src/errors.js';
import { explainOrtError, ortProbe, parseProviderRequest, selectProvider } from '../../src/validate/providers.js';
import type { ProbeResult, ProviderName } from '../../src/validate/providers.js';
import { hardwareGpus, softwareAdapterReason, thisMachine, vulkanDrivers } from '../../src/validate/software-adapter.js';
import type { MachineView } from '../../src/validate/software-adapter.js';
import { ROOT, small, tempDir } from '../support/fixtures.js';

/** A probe that answers from a table and records what it was asked. */
function fakeProbe(answers: Partial<Record<ProviderName, string | true | { software: string }>>) {
  const asked: ProviderName[] = [];
  const probe = async (ep: ProviderName): Promise<ProbeResult> => {
    asked.push(ep);
    const answer = answers[ep] ?? 'not in the fake table';
    if (answer === true) return { ok: true };
    return typeof answer === 'string' ? { ok: false, reason: answer } : { ok: true, software: answer.software };
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
    expect((error as SeInjectError).message).toMatch(/^--ep cuda cannot start: libcudart\.so\.12: cannot open shared object file \(loaded from \.\.\.\); --ep cuda needs an NVIDIA GPU and driver, the CUDA 12 runtime and cuDNN 9/);
    expect(asked).toEqual(['cuda']);
  });

  it('auto with nothing that runs throws with every reason', async () => {
    const { probe } = fakeProbe({ cuda: 'a', webgpu: 'b', cpu: 'c' });
    await expect(selectProvider('auto', probe)).rejects.toThrow(/no execution provider could run a model \(cuda: a; webgpu: b; cpu: c\)/);
  });

  it('auto passes over a WebGPU adapter that renders in software and says how to use it anyway', async () => {
    const { probe, asked } = fakeProbe({ cuda: 'no GPU', webgpu: { software: 'the only Vulkan drivers are software renderers: SwiftShader (libvk_swiftshader.so)' }, cpu: true });
    const choice = await selectProvider('auto', probe);
    expect(asked).toEqual(['cuda', 'webgpu', 'cpu']);
    expect(choice.ep).toBe('cpu');
    expect(choice.tried[1]).toEqual({
      ep: 'webgpu', ok: false,
      reason: 'software adapter only (the only Vulkan drivers are software renderers: SwiftShader (libvk_swiftshader.so)); slower than the CPU provider, so auto passes it over (--ep webgpu runs on it anyway)',
    });
  });

  it('an explicit webgpu runs on a software adapter and the choice says so', async () => {
    const { probe } = fakeProbe({ webgpu: { software: 'no GPU' }, cpu: true });
    expect(await selectProvider('webgpu', probe)).toEqual({ ep: 'webgpu', tried: [{ ep: 'webgpu', ok: true, software: 'no GPU' }] });
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

  it('without the CUDA provider libraries, --ep cuda names the missing files and everything it needs', async () => {
    // This repo's installs skip onnxruntime-node's download step, so the libraries are never there.
    const error = await selectProvider('cuda').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SeInjectError);
    const message = (error as SeInjectError).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^--ep cuda cannot start: provider libraries not installed: libonnxruntime_providers_cuda\.so and libonnxruntime_providers_shared\.so are missing from \S*node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64; --ep cuda needs an NVIDIA GPU and driver, the CUDA 12 runtime and cuDNN 9 on the library path, and .*ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
  });
});

/** A Linux machine built from a table of files; directories are the prefixes of the paths. */
function fakeMachine(files: Record<string, string>, env: Record<string, string> = {}, platform = 'linux'): MachineView {
  return {
    platform, env, home: '/home/u',
    readText: (f) => files[f],
    readDir: (dir) => [...new Set(Object.keys(files).filter((f) => f.startsWith(dir + '/')).map((f) => f.slice(dir.length + 1).split('/')[0]!))],
  };
}

const icd = (lib: string) => JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: lib, api_version: '1.3.0' } });
const pciDevice = (slot: string, cls: string, vendor: string) => ({ [`/sys/bus/pci/devices/${slot}/class`]: `${cls}\n`, [`/sys/bus/pci/devices/${slot}/vendor`]: `${vendor}\n` });
// Mesa's manifests as Debian installs them, on a machine with no GPU (a VM: virtio devices only).
const MESA = {
  '/usr/share/vulkan/icd.d/intel_icd.x86_64.json': icd('/usr/lib/x86_64-linux-gnu/libvulkan_intel.so'),
  '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json': icd('/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so'),
  '/usr/share/vulkan/icd.d/radeon_icd.x86_64.json': icd('/usr/lib/x86_64-linux-gnu/libvulkan_radeon.so'),
};
const VM = { ...pciDevice('0000:00:00.0', '0x060000', '0x8086'), ...pciDevice('0000:00:03.0', '0x020000', '0x1af4') };
const H200 = pciDevice('0000:17:00.0', '0x030200', '0x10de');
const NVIDIA_ICD = { '/usr/share/vulkan/icd.d/nvidia_icd.json': icd('libGLX_nvidia.so.0') };

describe('softwareAdapterReason', () => {
  it('a machine with Mesa drivers but no GPU has only software adapters', () => {
    const m = fakeMachine({ ...MESA, ...VM });
    expect(hardwareGpus(m)).toEqual([]);
    expect(softwareAdapterReason(m)).toMatch(/^this machine has no GPU/);
  });

  it('VK_ICD_FILENAMES pointing at SwiftShader makes the adapter software even beside a GPU', () => {
    const m = fakeMachine({ ...MESA, ...NVIDIA_ICD, ...H200, '/usr/lib/chromium/vk_swiftshader_icd.json': icd('./libvk_swiftshader.so') },
      { VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' });
    expect(vulkanDrivers(m).map((d) => d.software)).toEqual(['SwiftShader']);
    expect(softwareAdapterReason(m)).toBe('the only Vulkan drivers are software renderers: SwiftShader (libvk_swiftshader.so)');
  });

  it('a GPU whose vendor driver is missing leaves lavapipe as the only driver: software', () => {
    const m = fakeMachine({ '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json': MESA['/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'], ...H200 });
    expect(softwareAdapterReason(m)).toBe('the only Vulkan drivers are software renderers: lavapipe (libvulkan_lvp.so)');
  });

  it('an NVIDIA GPU with its Vulkan driver is hardware, lavapipe installed or not', () => {
    expect(softwareAdapterReason(fakeMachine({ ...MESA, ...NVIDIA_ICD, ...H200 }))).toBeUndefined();
    // NVIDIA containers often show the GPU in /proc and not as a PCI display device.
    expect(softwareAdapterReason(fakeMachine({ ...NVIDIA_ICD, '/proc/driver/nvidia/gpus/0000:17:00.0/information': 'Model: H200' }))).toBeUndefined();
  });

  it("a hypervisor's emulated VGA is not a GPU; an SoC GPU behind a DRM card is", () => {
    const qemuVga = pciDevice('0000:00:02.0', '0x030000', '0x1234');
    expect(softwareAdapterReason(fakeMachine({ ...MESA, ...VM, ...qemuVga, '/sys/class/drm/card0/device/uevent': 'DRIVER=bochs-drm\n' }))).toMatch(/no GPU/);
    const panfrost = { '/sys/class/drm/card0/device/uevent': 'DRIVER=panfrost\nOF_NAME=gpu\n', '/usr/share/vulkan/icd.d/panfrost_icd.json': icd('libvulkan_panfrost.so') };
    expect(hardwareGpus(fakeMachine(panfrost))).toEqual(['DRM card0 (panfrost)']);
    expect(softwareAdapterReason(fakeMachine(panfrost))).toBeUndefined();
  });

  it('says nothing off Linux, where Dawn offers no software Vulkan adapter', () => {
    expect(softwareAdapterReason(fakeMachine({}, {}, 'darwin'))).toBeUndefined();
  });

  it("reads this machine's Vulkan loader path (Chromium's SwiftShader manifest)", () => {
    const m = { ...thisMachine, env: { ...process.env, VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' } };
    expect(vulkanDrivers(m)).toEqual([{ manifest: '/usr/lib/chromium/vk_swiftshader_icd.json', library: './libvk_swiftshader.so', software: 'SwiftShader' }]);
    expect(softwareAdapterReason(m)).toMatch(/SwiftShader/);
  });
});

// onnxruntime-node's own WebGPU provider (Dawn) on Chromium's SwiftShader Vulkan driver: the GPU code
// path, shaders included, runs for real on a machine without a GPU (correctness only, never speed).
describe('--ep webgpu on SwiftShader', () => {
  const { dir, cleanup } = tempDir('se-inject-webgpu-');
  afterAll(cleanup);
  const runtimeDir = path.join(dir, 'xdg');
  mkdirSync(runtimeDir);
  chmodSync(runtimeDir, 0o700);
  const env = { ...process.env, VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json', XDG_RUNTIME_DIR: runtimeDir };
  const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'dist/src/cli/main.js'), ...args], { encoding: 'utf8', cwd: ROOT, env });
  const injected = path.join(dir, 'tiny_se.onnx');

  it('validates a preserved injection with outputs equal to the CPU tolerance, and says the adapter is software', () => {
    const made = cli(small('tiny_resnet.onnx'), '-o', injected, '--init', 'preserve', '-q');
    expect(made.status, made.stderr).toBe(0);
    const r = cli('validate', small('tiny_resnet.onnx'), injected, '--ep', 'webgpu', '--expect-equal', '--runs', '2', '--json');
    expect(r.status, r.stderr).toBe(0);
    const { validation } = JSON.parse(r.stdout);
    expect(validation).toMatchObject({ ep: 'webgpu', passed: true, outputsEqual: true, checks: ['structure', 'runs', 'finite', 'shapes', 'equal'] });
    expect(validation.tried).toEqual([{ ep: 'webgpu', ok: true, software: expect.stringMatching(/SwiftShader/) }]);
    expect(validation.outputs[0].maxAbsDiff).toBeLessThanOrEqual(1e-5 + 1e-4 * validation.outputs[0].scale);
    expect(r.stderr).toMatch(/validation on webgpu: passed .*outputs equal within tolerance/);
    expect(r.stderr).toMatch(/webgpu adapter is a software renderer \(the only Vulkan drivers are software renderers: SwiftShader/);
  });

  it('--ep auto passes the software adapter over for the CPU provider', () => {
    const r = cli('validate', small('tiny_resnet.onnx'), injected, '--ep', 'auto', '--expect-equal', '--runs', '0', '--json');
    expect(r.status, r.stderr).toBe(0);
    const { validation } = JSON.parse(r.stdout);
    expect(validation.ep).toBe('cpu');
    expect(validation.tried.find((t: { ep: string }) => t.ep === 'webgpu')).toEqual({
      ep: 'webgpu', ok: false, reason: expect.stringMatching(/^software adapter only \(the only Vulkan drivers are software renderers: SwiftShader \(libvk_swiftshader\.so\)\); slower than the CPU provider/),
    });
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
