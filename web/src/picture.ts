// Where SE went, drawn: one bar per stage (its exact added parameters, to scale), and under it the
// stage's blocks as ticks whose height is the block's width C with its squeeze width C/r inside.

import type { Report } from '../../src/browser.js';

const SVG = 'http://www.w3.org/2000/svg';

function el(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

export function drawPlacement(box: HTMLElement, r: Report): void {
  box.textContent = '';
  if (!r.blocks.length) return;
  const width = 760, label = 230, row = 58, barMax = width - label - 110;
  const maxParams = Math.max(...r.stages.map((s) => s.params), 1);
  const maxChannels = Math.max(...r.blocks.map((b) => b.channels), 1);
  const svg = el('svg', { width: '100%', viewBox: `0 0 ${width} ${r.stages.length * row + 30}`, role: 'img', 'aria-label': 'SE blocks per stage' });
  svg.append(el('text', { x: 0, y: 14, class: 'axis' }, `SE per stage: bar = exact added parameters, ticks = blocks (height C, dark part C/r)`));
  r.stages.forEach((s, i) => {
    const y = 30 + i * row;
    const w = Math.max(2, (s.params / maxParams) * barMax);
    svg.append(el('text', { x: 0, y: y + 14 }, `stage ${s.stage} · ${s.blocks} × C=${s.channels} · ${s.resolution}`));
    svg.append(el('text', { x: 0, y: y + 30, class: 'axis' }, s.startsAt));
    svg.append(el('rect', { x: label, y, width: w, height: 16, class: 'bar' }));
    svg.append(el('text', { x: label + w + 6, y: y + 13 }, `+${s.params.toLocaleString('en-US')}`));
    const blocks = r.blocks.filter((b) => b.stage === s.stage);
    blocks.forEach((b, j) => {
      const h = Math.max(3, (b.channels / maxChannels) * 30), hs = Math.max(1, (b.squeezeChannels / maxChannels) * 30);
      const x = label + j * 14;
      const tick = el('rect', { x, y: y + 20 + 30 - h, width: 10, height: h, class: 'block' });
      tick.append(el('title', {}, `${b.name}: ${b.channels} → ${b.squeezeChannels} → ${b.channels} at ${b.tensor}`));
      svg.append(tick, el('rect', { x, y: y + 20 + 30 - hs, width: 10, height: hs, class: 'squeeze' }));
    });
  });
  box.append(svg);
  const table = document.createElement('table');
  table.id = 'blocks';
  table.innerHTML = '<thead><tr><th>block</th><th>stage</th><th>C</th><th>C/r</th><th>params</th><th>scales tensor</th></tr></thead>';
  const body = document.createElement('tbody');
  for (const b of r.blocks) {
    const tr = document.createElement('tr');
    for (const v of [b.name, b.stage, b.channels, b.squeezeChannels, b.params.toLocaleString('en-US'), b.tensor]) {
      const td = document.createElement('td');
      td.textContent = String(v);
      tr.append(td);
    }
    body.append(tr);
  }
  table.append(body);
  box.append(table);
}
