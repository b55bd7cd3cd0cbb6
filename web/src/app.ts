// The se-inject page: pick or drop a model (and its .data), choose the CLI's options, read the CLI's
// report, see where SE went, download the result, validate it on onnxruntime-web. Everything runs in
// this tab: the only requests the page makes are for its own files (the runtime's WebAssembly).

import { DEFAULT_OPTIONS, convertBytes, formatText, loadModelBytes, SeInjectError } from '../../src/browser.js';
import type { Report } from '../../src/browser.js';
import { CHOICES, resolveWithConfig } from '../../src/options.js';
import type { InjectOptions } from '../../src/inject.js';
import { ARCH_CHOICES } from '../../passes/index.js';
import { flagOptions } from '../../src/cli/flags.js';
import type { ParsedArgs } from '../../src/cli/flags.js';
import { validationLines } from '../../src/validate/format.js';
import { externalLocations, inlineExternalData, splitExternalData } from './external.js';
import { drawPlacement } from './picture.js';
import { configureRuntime, validateInPage } from './validate.js';
import type { PageValidation } from './validate.js';
import type { ConvertReply, ConvertRequest } from './worker.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const value = (id: string) => $<HTMLInputElement>(id).value.trim();
const checked = (id: string) => $<HTMLInputElement>(id).checked;
const words = (id: string) => value(id).split(/[\s,]+/).filter(Boolean);

interface Picked { model: File; data: Map<string, File> }
interface Converted { name: string; input: Blob; output: Blob; report: Report; urls: string[] }

let picked: Picked | undefined;
let converted: Converted | undefined;

function setState(state: string, message = ''): void {
  document.body.dataset.state = state;
  $('status').textContent = message;
}

function fail(e: unknown): void {
  const message = e instanceof SeInjectError ? `error: ${e.message}` : `internal error: ${(e as Error)?.message ?? e}`;
  $('error').textContent = message;
  setState('error', '');
}

/** The page's fields as the CLI's flags, mapped and checked as the CLI's are. */
function toInjectOptions(a: ParsedArgs): InjectOptions {
  return resolveWithConfig(undefined, '', flagOptions(a));
}

/** The page's fields as the CLI's parsed flags. */
function cliArgs(): ParsedArgs {
  const num = (id: string) => Number(value(id));
  const arch = [...document.querySelectorAll<HTMLInputElement>('input[name=arch]:checked')].map((c) => c.value);
  const gate = value('opt-gate');
  return {
    block: value('opt-block') as ParsedArgs['block'], act: value('opt-act') as ParsedArgs['act'], reduceFrom: value('opt-reduce-from') as ParsedArgs['reduceFrom'],
    ratio: num('opt-ratio'), ratioPerStage: value('opt-ratio-per-stage') || undefined, divisor: num('opt-divisor'), minChannels: num('opt-min-channels'),
    bias: checked('opt-bias'), gate: gate === 'default' ? undefined : gate as ParsedArgs['gate'], init: value('opt-init') as ParsedArgs['init'],
    seed: num('opt-seed'), arch: arch.length ? arch : undefined, stages: value('opt-stages') || undefined,
    placement: value('opt-placement') as ParsedArgs['placement'], mobilenetPlacement: value('opt-mobilenet-placement') as ParsedArgs['mobilenetPlacement'],
    batch: num('opt-batch'), dims: words('opt-dims').length ? words('opt-dims') : undefined,
    at: words('opt-at').length ? words('opt-at') : undefined, exclude: words('opt-exclude').length ? words('opt-exclude') : undefined,
  };
}

function pick(files: FileList | File[]): void {
  const list = [...files];
  const model = list.find((f) => /\.onnx$/i.test(f.name)) ?? list[0];
  if (!model) return;
  picked = { model, data: new Map(list.filter((f) => f !== model).map((f) => [f.name, f])) };
  const extra = picked.data.size ? ` with ${[...picked.data.keys()].join(', ')}` : '';
  $('picked').textContent = `${model.name} (${model.size.toLocaleString('en-US')} bytes)${extra}`;
  $<HTMLButtonElement>('convert').disabled = false;
  setState('picked', '');
}

async function readModel(p: Picked): Promise<Uint8Array> {
  // One ArrayBuffer for the .onnx (the decoder's buffer); external data is read tensor by tensor.
  const bytes = new Uint8Array(await p.model.arrayBuffer());
  const locations = externalLocations(bytes);
  if (!locations.length) return bytes;
  return inlineExternalData(bytes, p.model.name, p.data);
}

/** A served page converts in a worker (large weights stay in the File); from disk, workers cannot start. */
function canUseWorker(): boolean {
  return typeof Worker !== 'undefined' && location.protocol !== 'file:';
}

interface Conversion { report: Report; text: string; output?: Blob; how: string }

function convertInWorker(file: File, options: InjectOptions, explain: boolean): Promise<Conversion> {
  return new Promise((resolve, reject) => {
    const worker = new Worker('worker.js');
    worker.onmessage = (e: MessageEvent<ConvertReply>) => {
      worker.terminate();
      const r = e.data;
      if (!r.ok) {
        if (r.known && / as external data/.test(r.message)) {
          reject(new SeInjectError('input', `${file.name} keeps tensors in external data: pick it together with its .data file`));
        } else reject(r.known ? new SeInjectError((r.kind ?? 'input') as 'input', r.message) : new Error(r.message));
        return;
      }
      const how = r.weightsLeftInFile ? `in a worker; ${r.weightsLeftInFile.toLocaleString('en-US')} bytes of weights stayed in the file` : 'in a worker';
      resolve({ report: r.report, text: r.text, output: r.output, how });
    };
    worker.onerror = (e) => {
      worker.terminate();
      reject(new Error(`the conversion worker failed: ${e.message}`));
    };
    worker.postMessage({ file, options, explain } satisfies ConvertRequest);
  });
}

async function convertHere(p: Picked, options: InjectOptions, explain: boolean): Promise<Conversion> {
  const input = await readModel(p);
  const { report, bytes } = convertBytes(input, { ...options, label: p.model.name });
  return { report, text: formatText(report, explain), output: bytes && new Blob([bytes as Uint8Array<ArrayBuffer>]), how: 'on the page' };
}

async function convert(): Promise<void> {
  if (!picked) return;
  const p = picked;
  $('error').textContent = '';
  $('validation').textContent = '';
  $('downloads').textContent = '';
  for (const url of converted?.urls ?? []) URL.revokeObjectURL(url);
  converted = undefined;
  $<HTMLButtonElement>('validate').disabled = true;
  setState('converting', `reading ${p.model.name}; matching blocks and inserting SE`);
  try {
    const options = toInjectOptions(cliArgs());
    const explain = checked('opt-explain');
    const external = p.data.size > 0;
    const result = external || !canUseWorker() ? await convertHere(p, options, explain) : await convertInWorker(p.model, options, explain);
    const { report, output } = result;
    $('report').textContent = result.text;
    drawPlacement($('picture'), report);
    if (!output) {
      setState('nothing', report.nothingToInsert ?? 'nothing to insert; no output');
      return;
    }
    const name = p.model.name.replace(/\.onnx$/i, '') + '_se.onnx';
    converted = { name, input: p.model, output, report, urls: [] };
    await offerDownloads(converted, external || checked('opt-external-data'));
    $<HTMLButtonElement>('validate').disabled = false;
    setState('converted', `${report.inserted} SE blocks, +${report.params.added.toLocaleString('en-US')} params (converted ${result.how})`);
    document.body.dataset.convertedBy = result.how.startsWith('in a worker') ? 'worker' : 'page';
  } catch (e) {
    fail(e);
  }
}

async function offerDownloads(c: Converted, external: boolean): Promise<void> {
  const links = $('downloads');
  links.textContent = '';
  const link = (blob: Blob, name: string, id: string) => {
    const a = document.createElement('a');
    const url = URL.createObjectURL(blob);
    c.urls.push(url);
    Object.assign(a, { href: url, download: name, id, textContent: `${name} (${blob.size.toLocaleString('en-US')} bytes)` });
    links.append(a, ' ');
  };
  if (external) {
    const split = splitExternalData(new Uint8Array(await c.output.arrayBuffer()), `${c.name}.data`);
    link(new Blob([split.model as Uint8Array<ArrayBuffer>]), c.name, 'download-model');
    link(split.data, `${c.name}.data`, 'download-data');
  } else {
    link(c.output, c.name, 'download-model');
  }
}

async function validate(): Promise<void> {
  if (!converted) return;
  const c = converted;
  setState('validating', 'validating on onnxruntime-web');
  try {
    const num = (id: string) => (value(id) === '' ? undefined : Number(value(id)));
    const options = toInjectOptions(cliArgs());
    // The runtime takes each model whole: validation needs both in memory, whatever the conversion did.
    const input = picked?.data.size ? await readModel(picked) : new Uint8Array(await c.input.arrayBuffer());
    const output = new Uint8Array(await c.output.arrayBuffer());
    const result: PageValidation = await validateInPage(
      { model: loadModelBytes(input, { label: 'original' }), bytes: input },
      { model: loadModelBytes(output, { label: 'injected' }), bytes: output },
      { ep: value('val-ep') as 'auto', runs: num('val-runs') ?? 20, rtol: num('val-rtol'), atol: num('val-atol'), expectEqual: options.init === 'preserve', batch: options.batch ?? 1, dims: options.dims ?? {} },
    );
    const adapter = result.adapter ? [`  webgpu adapter: vendor ${result.adapter.vendor || '?'}, architecture ${result.adapter.architecture || '?'}${result.adapter.fallback ? ' (fallback)' : ''}`] : [];
    $('validation').textContent = [...validationLines(result), ...adapter].join('\n');
    $('validation').dataset.result = JSON.stringify(result);
    setState(result.passed ? 'validated' : 'validation-failed', result.passed ? 'validation passed' : 'validation FAILED');
  } catch (e) {
    fail(e);
  }
}

function setUp(): void {
  configureRuntime(new URL('ort/', document.baseURI).href);
  if (location.protocol === 'file:') {
    $('file-note').textContent = 'Opened from disk: converting, the report and downloads work; validation needs the page served (npx se-inject serve), since a page at file:// may not load the runtime\u2019s WebAssembly.';
  }
  // The CLI's choices and defaults (src/options.ts), so that the page offers what the CLI takes.
  for (const select of document.querySelectorAll<HTMLSelectElement>('select[data-choices]')) {
    const key = select.dataset.choices as keyof typeof CHOICES;
    for (const choice of CHOICES[key]) select.append(new Option(choice, choice, false, key !== 'gate' && DEFAULT_OPTIONS[key] === choice));
  }
  const archBox = $('opt-arch');
  for (const family of ARCH_CHOICES.filter((a) => a !== 'auto')) {
    const label = document.createElement('label');
    label.innerHTML = `<input type="checkbox" name="arch" value="${family}"> ${family}`;
    archBox.append(label, ' ');
  }
  const input = $<HTMLInputElement>('file');
  input.addEventListener('change', () => input.files && pick(input.files));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer?.files.length) pick(e.dataTransfer.files);
  });
  $('convert').addEventListener('click', () => void convert());
  $('validate').addEventListener('click', () => void validate());
  setState('ready');
}

setUp();
