// Execution provider selection for --ep. A provider counts as available only after it has really run a
// one-node model: onnxruntime-node lists cuda on every Linux x64 install, whether or not its libraries
// and a GPU are there, and webgpu fails only when Dawn looks for an adapter. `auto` tries the fastest
// first and keeps each refusal's reason for the report; an explicit --ep never falls back silently,
// since a latency ratio measured on another provider answers a different question.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { SeInjectError, describeCause } from '../errors.js';
import { softwareAdapterReason } from './software-adapter.js';
import { DataType, encodeModel } from '../onnx/proto.js';
import type { ModelProto, ValueInfoProto } from '../onnx/proto.js';

export type ProviderName = 'cuda' | 'webgpu' | 'cpu';
export type ProviderRequest = ProviderName | 'auto';
/** `software`: the provider ran, on an adapter that renders on the CPU (why it is known to). */
export type ProbeResult = { ok: true; software?: string } | { ok: false; reason: string };
export type ProviderProbe = (ep: ProviderName) => Promise<ProbeResult>;

export interface ProviderAttempt {
  ep: ProviderName;
  ok: boolean;
  /** Why the provider was not used; absent for the one chosen. */
  reason?: string;
  /** The chosen provider runs on a software adapter (given with an explicit --ep webgpu): why it is known. */
  software?: string;
}

export interface ProviderChoice {
  ep: ProviderName;
  tried: ProviderAttempt[];
}

export const AUTO_ORDER: readonly ProviderName[] = ['cuda', 'webgpu', 'cpu'];

const INSTALL_HINTS: Record<ProviderName, string> = {
  // Installs that skipped onnxruntime-node's download step (ONNXRUNTIME_NODE_INSTALL=skip, or npm's
  // allowScripts denial) lack these libraries; the rebuild fetches them.
  cuda: '--ep cuda needs an NVIDIA GPU and driver, the CUDA 12 runtime and cuDNN 9 on the library path, and libonnxruntime_providers_cuda.so with libonnxruntime_providers_shared.so beside the onnxruntime-node binding, which `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` downloads (from outside the npm registry); or use --ep auto',
  webgpu: 'it needs a GPU whose Vulkan (Linux), D3D12 (Windows) or Metal (macOS) driver this process can use; or use --ep auto',
  cpu: 'reinstall onnxruntime-node (npm ci) for this platform',
};

export function parseProviderRequest(text: string): ProviderRequest {
  if (text === 'auto' || (AUTO_ORDER as readonly string[]).includes(text)) return text as ProviderRequest;
  throw new SeInjectError('usage', `--ep ${text} is not a provider; use one of auto, ${AUTO_ORDER.join(', ')}`);
}

export async function selectProvider(requested: ProviderRequest, probe: ProviderProbe = ortProbe): Promise<ProviderChoice> {
  const candidates = requested === 'auto' ? AUTO_ORDER : [requested];
  const tried: ProviderAttempt[] = [];
  for (const ep of candidates) {
    const result = await probe(ep);
    if (result.ok && result.software && requested === 'auto') {
      // Correct but far slower than the CPU provider: a user without a GPU must not wait for it.
      tried.push({ ep, ok: false, reason: `software adapter only (${result.software}); slower than the CPU provider, so auto passes it over (--ep ${ep} runs on it anyway)` });
      continue;
    }
    if (result.ok) {
      tried.push({ ep, ok: true, ...(result.software ? { software: result.software } : {}) });
      return { ep, tried };
    }
    tried.push({ ep, ok: false, reason: oneLine(result.reason) });
  }
  if (requested !== 'auto') {
    throw new SeInjectError('unsupported', `--ep ${requested} cannot start: ${tried[0]!.reason}; ${INSTALL_HINTS[requested]}`);
  }
  const reasons = tried.map((t) => `${t.ep}: ${t.reason}`).join('; ');
  throw new SeInjectError('unsupported', `no execution provider could run a model (${reasons}); ${INSTALL_HINTS.cpu}`);
}

// Each probe starts a session once per process; failures are as stable as successes (libraries, drivers).
const probeCache = new Map<ProviderName, Promise<ProbeResult>>();

/** The real probe: the provider must be in this build, have its libraries, and run a one-node Relu. */
export const ortProbe: ProviderProbe = (ep) => {
  let result = probeCache.get(ep);
  if (!result) {
    result = probeOnce(ep);
    probeCache.set(ep, result);
  }
  return result;
};

async function probeOnce(ep: ProviderName): Promise<ProbeResult> {
  const backend = ort.listSupportedBackends().find((b) => b.name === ep);
  if (!backend) return { ok: false, reason: `not part of onnxruntime-node on ${process.platform}-${process.arch}` };
  // Checked before loading: a missing library otherwise costs an ORT error printed on stderr.
  if (!backend.bundled && !providerLibrariesPresent(ep)) {
    return { ok: false, reason: `provider libraries not installed: ${providerLibraries(ep).join(' and ')} are missing from ${providerDir() ?? 'the onnxruntime-node binding folder'}` };
  }
  // Dawn (WebGPU) prints adapter warnings from native code on machines without a GPU; asking in a
  // child process keeps them out of the user's terminal, and only a working adapter reaches here.
  if (ep === 'webgpu') {
    const child = await probeInChild(ep);
    if (!child.ok) return child;
    const software = softwareAdapterReason();
    const here = await probeHere(ep);
    return here.ok && software ? { ok: true, software } : here;
  }
  return probeHere(ep);
}

/** Runs the one-node model on `ep` in this process. */
async function probeHere(ep: ProviderName): Promise<ProbeResult> {
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(reluModelBytes(), { executionProviders: [ep], logSeverityLevel: 3 });
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([-1, 2]), [2]) });
    const y = out.y?.data;
    if (!y || y[0] !== 0 || y[1] !== 2) return { ok: false, reason: 'a one-node Relu test model gave a wrong result' };
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: explainOrtError(describeCause(e)) };
  } finally {
    await session?.release();
  }
}

const CHILD_PROBE = `
const ort = await import(process.env.SE_INJECT_ORT);
try {
  const s = await ort.InferenceSession.create(Buffer.from(process.env.SE_INJECT_PROBE_MODEL, 'base64'), { executionProviders: [process.env.SE_INJECT_PROBE_EP], logSeverityLevel: 3 });
  const out = await s.run({ x: new ort.Tensor('float32', Float32Array.from([-1, 2]), [2]) });
  process.stdout.write(JSON.stringify(out.y.data[0] === 0 && out.y.data[1] === 2 ? { ok: true } : { ok: false, reason: 'a one-node Relu test model gave a wrong result' }));
} catch (e) {
  process.stdout.write(JSON.stringify({ ok: false, reason: String(e && e.message || e) }));
}`;

function probeInChild(ep: ProviderName): Promise<ProbeResult> {
  const ortEntry = createRequire(import.meta.url).resolve('onnxruntime-node');
  const env = {
    ...process.env, SE_INJECT_ORT: `file://${ortEntry}`, SE_INJECT_PROBE_EP: ep,
    SE_INJECT_PROBE_MODEL: Buffer.from(reluModelBytes()).toString('base64'),
  };
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', CHILD_PROBE], { env, timeout: 60_000 }, (err, stdout) => {
      try {
        const r = JSON.parse(stdout) as ProbeResult;
        resolve(r.ok ? r : { ok: false, reason: explainOrtError(r.reason) });
      } catch {
        resolve({ ok: false, reason: `the ${ep} probe process failed (${err ? describeCause(err) : 'no answer'})` });
      }
    });
  });
}

/** Where onnxruntime-node's binding and its unbundled provider libraries (cuda, tensorrt) live. */
function providerDir(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    return path.join(path.dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

function providerLibraries(ep: ProviderName): string[] {
  return [ep, 'shared'].map((name) => `libonnxruntime_providers_${name}.so`);
}

function providerLibrariesPresent(ep: ProviderName): boolean {
  const dir = providerDir();
  if (!dir) return true; // cannot tell where they would be: let the session attempt decide
  return providerLibraries(ep).every((lib) => existsSync(path.join(dir, lib)));
}

/** ORT messages carry a C++ source location and assertion text; keep the part a user can act on. */
export function explainOrtError(message: string): string {
  let text = oneLine(message);
  const afterAssert = text.split(/ was false\. /).pop()!;
  text = afterAssert.replace(/^\S+\.(?:cc|cpp|h):\d+\s+/, '');
  if (/adapter/i.test(text)) text = `no adapter found: ${text}`;
  return text.length > 240 ? `${text.slice(0, 237)}...` : text;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function floatVector(name: string): ValueInfoProto {
  return { name, type: { elemType: DataType.FLOAT, shape: [{ value: 2 }] } };
}

/** y = Relu(x) over two floats, IR 8 / opset 13: old enough for every provider, new enough for all. */
export function reluModelBytes(): Uint8Array {
  const proto: ModelProto = {
    irVersion: 8, producerName: 'se-inject probe', producerVersion: '', hasGraph: true,
    opsetImport: [{ domain: '', version: 13 }], metadataProps: [], extras: [],
    graph: {
      name: 'probe', initializers: [], valueInfo: [], sparseInitializerNames: [], extras: [],
      nodes: [{ name: 'relu', opType: 'Relu', domain: '', inputs: ['x'], outputs: ['y'], attributes: [], metadataProps: [], extras: [] }],
      inputs: [floatVector('x')], outputs: [floatVector('y')],
    },
  };
  return encodeModel(proto).toBytes();
}
