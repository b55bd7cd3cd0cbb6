// Fault injection for the file operations se-inject makes: every open, write, writev, sync, close,
// read, chmod, chown, rename, link and unlink on a path under `root` (and on a handle opened there) is counted, and
// the call numbered `failAt` fails as the kernel would report it (EIO unless told otherwise). The real
// fs.promises functions are wrapped in place, so the code under test runs unchanged.

import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

export type Op = 'open' | 'write' | 'writev' | 'sync' | 'close' | 'read' | 'chmod' | 'chown' | 'rename' | 'link' | 'unlink';

export interface FaultPlan {
  root: string;
  /** 1-based number of the call to fail; absent: count only. */
  failAt?: number;
  /** Fail every call of these operations with this code (an append-only folder: rename and unlink). */
  always?: Partial<Record<Op, string>>;
  code?: string;
  /** Called before each counted operation (e.g. to change an input between two reads). */
  before?: (op: Op, n: number) => void | Promise<void>;
}

export interface FaultLog {
  calls: Array<{ op: Op; target: string }>;
}

const errno: Record<string, number> = { EIO: -5, EPERM: -1, ENOSPC: -28, EACCES: -13 };

function fault(code: string, op: string, target: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected fault, ${op} '${target}'`), { code, errno: errno[code] ?? -5, syscall: op, path: target });
}

/** Runs `body` with the plan in force, and restores fs.promises afterwards. */
export async function withFaults<T>(plan: FaultPlan, body: () => Promise<T>): Promise<{ result?: T; error?: unknown; log: FaultLog }> {
  const log: FaultLog = { calls: [] };
  const ours = new WeakMap<object, string>();
  const probe = await fsp.open(process.execPath, 'r');
  const handleProto = Object.getPrototypeOf(probe) as Record<string, unknown>;
  await probe.close();
  const saved: Array<[Record<string, unknown>, string, unknown]> = [];

  const gate = async (op: Op, target: string) => {
    log.calls.push({ op, target });
    await plan.before?.(op, log.calls.length);
    const always = plan.always?.[op];
    if (always) throw fault(always, op, target);
    if (plan.failAt === log.calls.length) throw fault(plan.code ?? 'EIO', op, target);
  };
  const under = (p: unknown) => typeof p === 'string' && p.startsWith(plan.root);
  const wrap = (obj: Record<string, unknown>, name: string, make: (orig: (...a: unknown[]) => Promise<unknown>) => unknown) => {
    const orig = obj[name] as (...a: unknown[]) => Promise<unknown>;
    saved.push([obj, name, orig]);
    obj[name] = make(orig);
  };

  const fsObj = fsp as unknown as Record<string, unknown>;
  wrap(fsObj, 'open', (orig) => async function (this: unknown, ...a: unknown[]) {
    if (under(a[0])) await gate('open', a[0] as string);
    const fh = (await orig.apply(this, a)) as FileHandle;
    if (under(a[0])) ours.set(fh, a[0] as string);
    return fh;
  });
  for (const op of ['rename', 'link', 'unlink'] as const) {
    wrap(fsObj, op, (orig) => async function (this: unknown, ...a: unknown[]) {
      if (under(a[0]) || under(a[1])) await gate(op, String(a[op === 'unlink' ? 0 : 1]));
      return orig.apply(this, a);
    });
  }
  for (const op of ['write', 'writev', 'sync', 'close', 'read', 'chmod', 'chown'] as const) {
    wrap(handleProto, op, (orig) => async function (this: object, ...a: unknown[]) {
      const target = ours.get(this);
      if (target !== undefined) {
        try {
          await gate(op, target);
        } catch (e) {
          if (op === 'close') await orig.apply(this, a); // a failed close still releases the descriptor
          throw e;
        }
      }
      return orig.apply(this, a);
    });
  }
  try {
    return { result: await body(), log };
  } catch (error) {
    return { error, log };
  } finally {
    for (const [obj, name, orig] of saved.reverse()) obj[name] = orig;
  }
}
