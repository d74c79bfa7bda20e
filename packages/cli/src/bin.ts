#!/usr/bin/env node
/**
 * `asam`: the project's command. `asam train <task> [flags]` trains a registered task (see train-command.ts).
 *
 * The task registry is filled here, explicitly, from the task packages that are installed: each entry of
 * {@link TASK_PACKAGES} names a package and the TaskSpec it exports; a package that cannot be resolved from the
 * directory the command runs in (or from this package) is left out, and `asam train <task>` then lists the tasks that
 * are there. (@asam/vision and @asam/nmt depend on @asam/cli, so this package cannot import them statically.)
 */
import { resolveDataDir } from '@asam/data';
import { initEngine, type BackendRequest } from '@asam/engine';
import { createRegistry, type AnyTaskSpec, type TaskRegistry } from '@asam/train';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { nativeKernelsFrom } from './command.ts';
import { runCli, UsageError } from './errors.ts';
import { invocationDir } from './paths.ts';
import { runTrainCommand } from './train-command.ts';

/** The task packages `asam` knows: id, package, and the name of the TaskSpec it exports. */
export const TASK_PACKAGES = [
  { id: 'vision', pkg: '@asam/vision', exportName: 'visionTask' },
  { id: 'nmt', pkg: '@asam/nmt', exportName: 'nmtTask' },
] as const;

/** The registry of the task packages resolvable from `dirs` (first match wins), in the order of {@link TASK_PACKAGES}. */
export async function installedTasks(dirs: readonly string[]): Promise<TaskRegistry> {
  const tasks = createRegistry<AnyTaskSpec>('task');
  for (const t of TASK_PACKAGES) {
    let file: string | null = null;
    for (const d of dirs) {
      try {
        file = createRequire(path.join(d, 'package.json')).resolve(t.pkg);
        break;
      } catch {
        // not installed there: the next folder
      }
    }
    if (file === null) continue;
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const spec = mod[t.exportName] as AnyTaskSpec | undefined;
    if (!spec || spec.id !== t.id) throw new Error(`${t.pkg} (${file}) exports no task spec '${t.exportName}' with id '${t.id}'; its version does not match @asam/cli's`);
    tasks.register(t.id, spec);
  }
  return tasks;
}

async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const [sub, ...rest] = argv.filter((a, i) => !(i === 0 && a === '--'));
  if (sub !== 'train') throw new UsageError(`${sub === undefined ? 'no command' : `unknown command ${JSON.stringify(sub)}`}; usage: asam train <task> [flags] (asam train --help)`);
  const cwd = invocationDir(env, process.cwd());
  const tasks = await installedTasks([cwd, process.cwd(), path.dirname(new URL(import.meta.url).pathname)]);
  if (tasks.ids().length === 0) {
    throw new UsageError(`no task package can be found from ${cwd}: install ${TASK_PACKAGES.map((t) => t.pkg).join(' or ')} beside @asam/cli, or run asam from a folder that has them`);
  }
  return runTrainCommand({
    tasks, name: 'asam', argv: rest, env, programFile: import.meta.url,
    defaultDataDir: () => resolveDataDir({ env }),
    initEngine: (backend, native) => initEngine({ backend: backend as BackendRequest, nativeKernels: nativeKernelsFrom(native, env) }),
  });
}

void runCli(() => main(process.argv.slice(2), process.env));
