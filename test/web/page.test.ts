// The web page in a real browser: Debian's Chromium (headless, its SwiftShader WebGPU) driven by
// playwright-core, the page served by `se-inject serve`. The page must convert a committed model to
// exactly the bytes and report the CLI writes, hand over its output as downloads that the CLI's judges
// accept (onnx.checker, onnxruntime-node equality with --init preserve), and validate on WebGPU with
// the adapter really being WebGPU. Nothing it requests may leave the page's own origin.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, SMALL, cached, onnxCheck, small, tempDir } from '../support/fixtures.js';

const CLI = path.join(ROOT, 'dist/src/cli/main.js');
/** The screenshot a person can look at after the run. */
export const SCREENSHOT = path.join(ROOT, 'test/.tmp/web/page.png');

// Headless Chromium with WebGPU on SwiftShader (no GPU, no flags beyond --enable-unsafe-webgpu needed
// on Linux), and nothing that would reach the network on start.
const CHROMIUM_ARGS = [
  '--no-sandbox', '--enable-unsafe-webgpu',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
  '--disable-default-apps', '--disable-domain-reliability', '--metrics-recording-only',
];

function cli(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the web page in Chromium', () => {
  const tmp = tempDir('se-inject-web-');
  let server: ChildProcess;
  let origin = '';
  let context: BrowserContext;
  let page: Page;
  const requests: string[] = [];

  beforeAll(async () => {
    server = spawn(process.execPath, [CLI, 'serve', '--port', '0', '-q'], { stdio: ['ignore', 'pipe', 'inherit'] });
    origin = await new Promise<string>((resolve, reject) => {
      server.once('exit', (code) => reject(new Error(`se-inject serve exited with ${code}`)));
      createInterface({ input: server.stdout! }).once('line', (line) => resolve(line.trim().replace(/\/$/, '')));
    });
    context = await chromium.launchPersistentContext(path.join(tmp.dir, 'profile'), {
      executablePath: '/usr/bin/chromium', headless: true, acceptDownloads: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 },
    });
    page = await context.newPage();
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => document.body.dataset.state === 'ready');
  });

  afterAll(async () => {
    await context?.close();
    server?.kill('SIGTERM');
    tmp.cleanup();
  });

  async function convert(files: string[], options: Record<string, string> = {}, ticks: string[] = []) {
    await page.setInputFiles('#file', files);
    for (const [id, v] of Object.entries(options)) {
      if (await page.locator(`select#${id}`).count()) await page.selectOption(`#${id}`, v);
      else await page.fill(`#${id}`, v);
    }
    for (const id of ['opt-explain', 'opt-external-data']) await page.setChecked(`#${id}`, ticks.includes(id));
    await page.click('#convert');
    await page.waitForFunction(() => ['converted', 'nothing', 'error'].includes(document.body.dataset.state ?? ''));
    expect(await page.textContent('#error')).toBe('');
  }

  async function download(id: string, dir: string): Promise<string> {
    const [d] = await Promise.all([page.waitForEvent('download'), page.click(`#${id}`)]);
    const file = path.join(dir, d.suggestedFilename());
    await d.saveAs(file);
    return file;
  }

  it('writes the bytes and the --explain report the CLI writes for the same options', async () => {
    const out = path.join(tmp.dir, 'cli');
    mkdirSync(out);
    const r = cli(['tiny_mobilenet_v2.onnx', '-o', path.join(out, 'cli.onnx'), '--ratio', '8', '--seed', '3', '--explain', '-q'], SMALL);
    expect(r.status, r.stderr).toBe(0);
    await convert([small('tiny_mobilenet_v2.onnx')], { 'opt-ratio': '8', 'opt-seed': '3', 'opt-init': 'he' }, ['opt-explain']);
    const report = await page.textContent('#report');
    expect(report).toBe(r.stdout);
    expect(report).toMatch(/Candidates \(--explain\)/);
    // The picture: one bar per stage, one block row per SE block.
    const inserted = Number(/^(\d+) SE blocks/.exec(await page.textContent('#status') ?? '')?.[1]);
    expect(inserted).toBeGreaterThan(0);
    expect(await page.locator('#blocks tbody tr').count()).toBe(inserted);
    expect(await page.locator('#picture svg rect.bar').count()).toBeGreaterThan(0);
    const file = await download('download-model', out);
    expect(path.basename(file)).toBe('tiny_mobilenet_v2_se.onnx');
    expect(readFileSync(file).equals(readFileSync(path.join(out, 'cli.onnx')))).toBe(true);
  });

  it('converts a real export in a worker with its large weights left in the File, to the bytes the CLI writes', async () => {
    const dir = path.join(tmp.dir, 'big');
    mkdirSync(dir);
    const r = cli([cached('mobilenet_v2_op13.onnx'), '-o', path.join(dir, 'cli.onnx'), '-q']);
    expect(r.status, r.stderr).toBe(0);
    await convert([cached('mobilenet_v2_op13.onnx')], { 'opt-ratio': '16', 'opt-seed': '0', 'opt-init': 'he' });
    expect(await page.getAttribute('body', 'data-converted-by')).toBe('worker');
    // torchvision's MobileNetV2: 14 MB, most of it in tensors of 256 KiB and more.
    const left = Number((/converted in a worker; ([\d,]+) bytes of weights stayed in the file/.exec(await page.textContent('#status') ?? '')?.[1] ?? '0').replace(/,/g, ''));
    expect(left).toBeGreaterThan(5_000_000);
    const file = await download('download-model', dir);
    expect(readFileSync(file).equals(readFileSync(path.join(dir, 'cli.onnx')))).toBe(true);
  });

  it('converts a model with external data from its two files and downloads the output with its .data', async () => {
    const dir = path.join(tmp.dir, 'ext');
    mkdirSync(dir);
    // onnx's own writer moves the weights out, as exporters do for large models.
    execFileSync('/usr/bin/python3', ['-c', `import onnx,sys; m=onnx.load(sys.argv[1]); onnx.save(m, sys.argv[2], save_as_external_data=True, location='tiny_ext.onnx.data', size_threshold=1024)`, small('tiny_resnet.onnx'), path.join(dir, 'tiny_ext.onnx')]);
    await convert([path.join(dir, 'tiny_ext.onnx'), path.join(dir, 'tiny_ext.onnx.data')], { 'opt-init': 'preserve', 'opt-ratio': '16', 'opt-seed': '0' });
    const got = path.join(dir, 'page');
    mkdirSync(got);
    const model = await download('download-model', got);
    const data = await download('download-data', got);
    expect([path.basename(model), path.basename(data)]).toEqual(['tiny_ext_se.onnx', 'tiny_ext_se.onnx.data']);
    expect(readFileSync(model).length).toBeLessThan(64 * 1024);
    expect(onnxCheck([model])).toEqual([{ path: model, ok: true }]);
    const v = cli(['validate', path.join(dir, 'tiny_ext.onnx'), model, '--ep', 'cpu', '--expect-equal', '--runs', '0', '--json']);
    expect(v.status, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout).validation).toMatchObject({ passed: true, outputsEqual: true });
  });

  it('validates on WebGPU (SwiftShader), outputs equal as the CLI requires with --init preserve; auto takes WebAssembly', async () => {
    await convert([small('tiny_resnet.onnx')], { 'opt-init': 'preserve', 'opt-ratio': '16', 'opt-seed': '0', 'val-ep': 'webgpu', 'val-runs': '3' });
    const dir = path.join(tmp.dir, 'gpu');
    mkdirSync(dir);
    const file = await download('download-model', dir);
    expect(onnxCheck([file])).toEqual([{ path: file, ok: true }]);
    const judged = cli(['validate', small('tiny_resnet.onnx'), file, '--ep', 'cpu', '--expect-equal', '--runs', '0', '--json']);
    expect(JSON.parse(judged.stdout).validation).toMatchObject({ passed: true, outputsEqual: true });

    await page.click('#validate');
    await page.waitForFunction(() => ['validated', 'validation-failed', 'error'].includes(document.body.dataset.state ?? ''), null, { timeout: 180_000 });
    expect(await page.textContent('#error')).toBe('');
    const result = JSON.parse(await page.getAttribute('#validation', 'data-result') ?? '{}');
    expect(result).toMatchObject({ ep: 'webgpu', passed: true, outputsEqual: true, checks: ['structure', 'runs', 'finite', 'shapes', 'equal'] });
    // Really WebGPU: the adapter the runtime was given, as the browser describes it.
    expect(result.adapter).toMatchObject({ vendor: 'google', architecture: 'swiftshader', fallback: true });
    expect(result.tried).toEqual([{ ep: 'webgpu', ok: true, software: 'google swiftshader, a fallback adapter' }]);
    expect(result.outputs[0].maxAbsDiff).toBeLessThanOrEqual(1e-5 + 1e-4 * result.outputs[0].scale);
    expect(result.latency.runs).toBe(3);
    const text = await page.textContent('#validation');
    expect(text).toMatch(/^validation on webgpu: passed \(checked: both run, outputs finite, output shapes match, outputs equal within tolerance\)/);
    expect(text).toMatch(/output output \[1, 10\]: max \|diff\| \S+ at output scale \(max \|original\|\) \S+, relative \S+/);
    expect(text).toMatch(/latency \(median of 3\): original \S+ ms, injected \S+ ms, ×\S+/);
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    process.stderr.write(`se-inject tests: screenshot of the web page in ${path.relative(ROOT, SCREENSHOT)}\n`);
    if (process.env.SE_INJECT_README_SCREENSHOT) copyFileSync(SCREENSHOT, path.join(ROOT, 'web/screenshot.png'));

    await page.selectOption('#val-ep', 'auto');
    await page.fill('#val-runs', '0');
    await page.click('#validate');
    await page.waitForFunction(() => ['validated', 'validation-failed', 'error'].includes(document.body.dataset.state ?? ''));
    const auto = JSON.parse(await page.getAttribute('#validation', 'data-result') ?? '{}');
    expect(auto.ep).toBe('wasm');
    expect(auto.tried[0]).toEqual({ ep: 'webgpu', ok: false, reason: 'software adapter only (google swiftshader, a fallback adapter); slower than WebAssembly, so auto passes it over (choose webgpu to run on it anyway)' });
    expect(auto).toMatchObject({ passed: true, outputsEqual: true });
  });

  it('opened from disk, converts and reports, and says validation needs the page served', async () => {
    const disk = await context.newPage();
    await disk.goto(`file://${path.join(ROOT, 'dist/web/index.html')}`);
    await disk.waitForFunction(() => document.body.dataset.state === 'ready');
    expect(await disk.textContent('#file-note')).toMatch(/validation needs the page served \(npx se-inject serve\)/);
    await disk.setInputFiles('#file', small('tiny_shufflenet.onnx'));
    await disk.click('#convert');
    await disk.waitForFunction(() => ['converted', 'nothing', 'error'].includes(document.body.dataset.state ?? ''));
    expect(await disk.textContent('#error')).toBe('');
    const r = cli(['tiny_shufflenet.onnx', '-o', path.join(tmp.dir, 'disk.onnx'), '-q'], SMALL);
    expect(await disk.textContent('#report')).toBe(r.stdout);
    await disk.close();
  });

  it('asks for nothing outside its own origin', () => {
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((u) => !u.startsWith(`${origin}/`) && !/^(blob|data):/.test(u))).toEqual([]);
  });
});
