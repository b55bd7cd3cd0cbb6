// Whether the WebGPU adapter onnxruntime-node would get on this machine is a software renderer.
// ORT's WebGPU provider (Dawn) takes a CPU-type adapter when no GPU answers: on Linux that is a
// software Vulkan driver — Google's SwiftShader (Chromium ships one) or Mesa's lavapipe. Such an adapter
// computes correct results but runs CNNs many times slower than ORT's CPU provider, so `--ep auto` must
// not choose it. onnxruntime-node exposes no adapter info, so the question is answered from what the
// Vulkan loader and the kernel show: the ICD manifests the loader reads (their driver library names),
// and whether a GPU sits on the PCI bus or behind a DRM card.

import { readFileSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** What the check reads; tests hand it a fake machine. */
export interface MachineView {
  platform: string;
  env: Record<string, string | undefined>;
  home: string;
  readDir(dir: string): string[];
  readText(file: string): string | undefined;
}

export const thisMachine: MachineView = {
  platform: process.platform,
  env: process.env,
  home: os.homedir(),
  readDir: (dir) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
  readText: (file) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  },
};

/** Vulkan drivers that render on the CPU, by the library an ICD manifest names. */
const SOFTWARE_DRIVERS: ReadonlyArray<[RegExp, string]> = [
  [/swiftshader/i, 'SwiftShader'],
  [/lvp|lavapipe/i, 'lavapipe'],
];

/** PCI vendors whose display controllers are emulated by a hypervisor, not GPUs. */
const VIRTUAL_DISPLAY_VENDORS = new Set(['0x1af4', '0x1234', '0x15ad', '0x1013', '0x1414', '0x1b36', '0x80ee']);
/** DRM drivers of virtual or firmware framebuffers. */
const VIRTUAL_DRM_DRIVERS = new Set(['simpledrm', 'bochs-drm', 'bochs', 'virtio_gpu', 'vmwgfx', 'cirrus', 'qxl', 'vkms', 'hyperv_drm', 'vboxvideo', 'vgem', 'efifb']);

export interface VulkanDriver {
  manifest: string;
  library: string;
  /** The software renderer's name, when it is one. */
  software?: string;
}

/**
 * The reason the WebGPU adapter would be a software renderer, or undefined when a GPU may answer.
 * Linux only: elsewhere WebGPU runs on Metal or D3D12, whose software adapters Dawn does not offer.
 */
export function softwareAdapterReason(m: MachineView = thisMachine): string | undefined {
  if (m.platform !== 'linux') return undefined;
  const drivers = vulkanDrivers(m);
  const software = drivers.filter((d) => d.software);
  if (drivers.length && software.length === drivers.length) {
    const names = [...new Set(software.map((d) => `${d.software} (${path.basename(d.library)})`))].join(', ');
    return `the only Vulkan drivers are software renderers: ${names}`;
  }
  if (!hardwareGpus(m).length) {
    return 'this machine has no GPU (no display controller on the PCI bus, no GPU DRM card), so any WebGPU adapter renders in software';
  }
  return undefined;
}

/** The ICD manifests the Vulkan loader reads: VK_DRIVER_FILES / VK_ICD_FILENAMES, or its search path. */
export function vulkanDrivers(m: MachineView): VulkanDriver[] {
  const override = m.env.VK_DRIVER_FILES || m.env.VK_ICD_FILENAMES;
  const manifests: string[] = [];
  const addDir = (dir: string) => {
    for (const f of m.readDir(dir).sort()) if (f.endsWith('.json')) manifests.push(path.join(dir, f));
  };
  if (override) {
    for (const entry of override.split(':').filter(Boolean)) {
      if (entry.endsWith('.json')) manifests.push(entry);
      else addDir(entry);
    }
  } else {
    const config = [m.env.XDG_CONFIG_HOME || path.join(m.home, '.config'), ...(m.env.XDG_CONFIG_DIRS || '/etc/xdg').split(':'), '/etc'];
    const data = [m.env.XDG_DATA_HOME || path.join(m.home, '.local/share'), ...(m.env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':')];
    for (const dir of [...config, ...data]) if (dir) addDir(path.join(dir, 'vulkan/icd.d'));
  }
  const drivers: VulkanDriver[] = [];
  for (const manifest of manifests) {
    const library = icdLibrary(m.readText(manifest));
    if (!library) continue;
    const software = SOFTWARE_DRIVERS.find(([re]) => re.test(path.basename(library)))?.[1];
    drivers.push({ manifest, library, ...(software ? { software } : {}) });
  }
  return drivers;
}

function icdLibrary(text: string | undefined): string | undefined {
  if (!text) return undefined;
  try {
    const lib = (JSON.parse(text) as { ICD?: { library_path?: unknown } }).ICD?.library_path;
    return typeof lib === 'string' ? lib : undefined;
  } catch {
    return undefined;
  }
}

/** GPUs the kernel shows: PCI display controllers (class 0x03) of real vendors, GPU DRM cards, NVIDIA's proc entries. */
export function hardwareGpus(m: MachineView): string[] {
  const found: string[] = [];
  const pci = '/sys/bus/pci/devices';
  for (const dev of m.readDir(pci)) {
    const cls = m.readText(path.join(pci, dev, 'class'))?.trim() ?? '';
    const vendor = m.readText(path.join(pci, dev, 'vendor'))?.trim() ?? '';
    if (cls.startsWith('0x03') && !VIRTUAL_DISPLAY_VENDORS.has(vendor)) found.push(`PCI ${dev} (vendor ${vendor})`);
  }
  const drm = '/sys/class/drm';
  for (const card of m.readDir(drm)) {
    if (!/^card\d+$/.test(card)) continue;
    const uevent = m.readText(path.join(drm, card, 'device/uevent')) ?? '';
    const driver = /^DRIVER=(.*)$/m.exec(uevent)?.[1];
    if (driver && !VIRTUAL_DRM_DRIVERS.has(driver)) found.push(`DRM ${card} (${driver})`);
  }
  for (const gpu of m.readDir('/proc/driver/nvidia/gpus')) found.push(`NVIDIA ${gpu}`);
  return found;
}
