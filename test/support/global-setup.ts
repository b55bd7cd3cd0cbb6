// Before any test: the torchvision exports the tests read must be in fixtures/cache (the exporter skips
// what is already there, so a warm cache costs about a second). CI has python3-torch and friends.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export default function setup(): void {
  if (!existsSync('/usr/bin/python3')) throw new Error('tests need Debian python3 with python3-torch, python3-torchvision and python3-onnx (see .ci/run)');
  execFileSync('/usr/bin/python3', ['fixtures/export_torchvision.py'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 1_200_000 });
}
