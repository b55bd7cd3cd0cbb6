// Before any test: the torchvision exports the tests read must be in fixtures/cache (the exporter skips
// what is already there, so a warm cache costs about a second). CI has python3-torch and friends.
// A cold cache takes minutes: say so on stderr, and name each model as it is exported.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

export default async function setup(): Promise<void> {
  if (!existsSync('/usr/bin/python3')) throw new Error('tests need Debian python3 with python3-torch, python3-torchvision and python3-onnx (see .ci/run)');
  if (!existsSync('/usr/bin/chromium')) throw new Error('tests need Debian chromium and libvulkan1 for the web page and WebGPU tests: apt-get install -y chromium libvulkan1 (see .ci/run)');
  const say = (text: string) => process.stderr.write(`se-inject tests: ${text}\n`);
  const child = spawn('/usr/bin/python3', ['fixtures/export_torchvision.py'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let told = false;
  const tell = () => {
    if (!told) say('exporting the torchvision test models into fixtures/cache with /usr/bin/python3 (a first run takes several minutes and ~1.4 GB; later runs reuse them)');
    told = true;
  };
  // An empty cache is known at once; otherwise the first model the exporter had to make says so.
  if (!existsSync('fixtures/cache/manifest.json')) tell();
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!/^ok\s/.test(line)) return;
    tell();
    say(`exported ${line.slice(3).trim().replace(/\s+/g, ' ')}`);
  });
  const code = await new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve));
  if (code !== 0) throw new Error(`fixtures/export_torchvision.py exited with ${code}; run it by hand to see why`);
}
