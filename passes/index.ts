// The registry of rewrite passes: the one list from which the pass order, the family type, the CLI's
// --arch choices and the "supported families" message come. A new family is one file and one entry here.

import type { Pass, PassOptions } from '../src/se/site.js';
import { inceptionPass } from './inception.js';
import { mobilenetPass } from './mobilenet.js';
import { residualPass } from './residual.js';
import { shufflenetPass } from './shufflenet.js';

export const FAMILIES = ['residual', 'inception', 'mobilenet', 'shufflenet'] as const;
/** A family of blocks a pass recognises (sites the user names with --at are family 'user'). */
export type PassFamily = (typeof FAMILIES)[number];

/** Other names users give a family on the command line. */
export const FAMILY_ALIASES: Readonly<Record<string, PassFamily>> = { resnet: 'residual' };

interface Entry { pass: Pass; models: string }

const REGISTRY: Readonly<Record<PassFamily, Entry>> = {
  residual: { pass: residualPass, models: 'residual networks (ResNet, ResNeXt, Wide-ResNet, Res2Net, PyramidNet, DPN, GhostNet, RepVGG, MobileOne, CSP and DLA blocks)' },
  inception: { pass: inceptionPass, models: 'Inception (GoogLeNet, Inception-v3/v4) and one-shot aggregation (VoVNet, YOLOv7 ELAN)' },
  mobilenet: { pass: mobilenetPass, models: 'depthwise-separable nets (MobileNet v1/v2/v3, MnasNet, ProxylessNAS, MixNet)' },
  shufflenet: { pass: shufflenetPass, models: 'ShuffleNet v1/v2' },
};

/**
 * Priority when several passes match one block: a ShuffleNet unit's branch holds a depthwise conv and
 * a MobileNetV2 block is a residual unit too. The MobileNetV3 placement is a statement about depthwise
 * blocks, so with it the depthwise view wins over the residual one.
 */
const ORDER: readonly PassFamily[] = ['shufflenet', 'residual', 'inception', 'mobilenet'];
const ORDER_V3: readonly PassFamily[] = ['shufflenet', 'mobilenet', 'residual', 'inception'];

export function passOrder(o: PassOptions, only?: readonly PassFamily[]): Pass[] {
  return (o.mobilenetPlacement === 'v3' ? ORDER_V3 : ORDER).filter((f) => !only || only.includes(f)).map((f) => REGISTRY[f].pass);
}

export const SUPPORTED_FAMILIES = FAMILIES.map((f) => REGISTRY[f].models).join(', ').replace(/, ([^,]*)$/, ' and $1');

/** What --arch accepts: every family, its aliases, and auto. */
export const ARCH_CHOICES: readonly string[] = ['auto', ...Object.keys(FAMILY_ALIASES), ...FAMILIES];

/** A family or alias named by the user, as the family it means. */
export function familyNamed(name: string): PassFamily | undefined {
  return (FAMILIES as readonly string[]).includes(name) ? (name as PassFamily) : FAMILY_ALIASES[name];
}
