// Conversion off the page's main thread. In a worker, reads can be synchronous (FileReaderSync), so the
// browser host (src/host/browser.ts) scans a big model as the Node loader scans a file: large weights
// stay in the picked File, and the output Blob takes them as slices of it — neither copied nor read.

import { SeInjectError, formatText, inject, loadModelBlob, serializeModelBlob } from '../../src/browser.js';
import type { InjectOptions, Report } from '../../src/browser.js';

export interface ConvertRequest { file: File; options: InjectOptions; explain: boolean }
export type ConvertReply =
  | { ok: true; report: Report; text: string; output?: Blob; weightsLeftInFile: number }
  | { ok: false; known: boolean; kind?: string; message: string };

const scope = self as unknown as { onmessage: ((e: MessageEvent<ConvertRequest>) => void) | null; postMessage(m: ConvertReply): void };

scope.onmessage = async (e) => {
  const { file, options, explain } = e.data;
  try {
    const model = await loadModelBlob(file, { label: file.name });
    const weightsLeftInFile = (model.source.deferred?.holes ?? []).reduce((n, h) => n + h.end - h.start, 0);
    const report = inject(model, options);
    const output = report.inserted ? serializeModelBlob(model) : undefined;
    scope.postMessage({ ok: true, report, text: formatText(report, explain), output, weightsLeftInFile });
  } catch (err) {
    const known = err instanceof SeInjectError;
    scope.postMessage({ ok: false, known, kind: known ? err.kind : undefined, message: (err as Error)?.message ?? String(err) });
  }
};
