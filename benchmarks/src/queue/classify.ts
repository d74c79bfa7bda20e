/**
 * What a worker makes of a cell's child process: progress from its output lines, and whether a failure is worth a
 * retry. Transient: the process was killed or crashed (signal, exit code other than 0/1 — the OOM killer, a
 * segfault, a wasm abort), or the task's error names a system error (I/O, network, memory: ENOSPC, EIO, ESTALE,
 * ECONNRESET, ...). Deterministic: the task threw any other error (bad config, unknown model; runs are seeded, so a
 * retry would do the same), or the folder holds another cell. Deterministic failures are not retried. A diverged
 * run is no failure at all: the cell ends with status 'diverged', its result.
 */

export interface ProgressFields {
  epoch: number | null;
  epochs: number | null;
  loss: number | null;
}

/** Epoch (and total) and loss from a task's progress line (`epoch 2/10 train step ... loss 1.2345 ...`), where present. */
export function parseProgressLine(line: string): ProgressFields {
  const ep = /\bepoch (\d+)(?:\/(\d+))?/.exec(line);
  const loss = /\bloss[ =](-?(?:\d+\.?\d*(?:e[-+]?\d+)?|NaN|Infinity))/i.exec(line);
  return {
    epoch: ep ? Number(ep[1]) : null,
    epochs: ep?.[2] ? Number(ep[2]) : null,
    loss: loss ? Number(loss[1]) : null,
  };
}

export type FailureKind = 'transient' | 'deterministic';

export interface ChildExit {
  code: number | null;
  signal: string | null;
  /** The error cell-main wrote into result.json (status failed), if any. */
  taskError: string | null;
}

const SYSTEM_ERROR = /\b(E(?:NOSPC|IO|STALE|AGAIN|BUSY|NOMEM|MFILE|NFILE|CONNRESET|CONNREFUSED|CONNABORTED|TIMEDOUT|PIPE|HOSTUNREACH|NETUNREACH|NETDOWN|AI_AGAIN|DQUOT))\b|out of memory|heap out of memory/i;

/** Classifies a failed child (see the module comment); returns the kind and a one-line reason. */
export function classifyFailure(x: ChildExit): { kind: FailureKind; reason: string } {
  if (x.signal) return { kind: 'transient', reason: `child process killed by ${x.signal}` };
  if (x.code !== 1 || x.taskError === null) {
    return { kind: 'transient', reason: x.taskError ?? `child process exited with code ${x.code} without recording an error (crash)` };
  }
  const first = x.taskError.split('\n')[0]!;
  if (SYSTEM_ERROR.test(x.taskError)) return { kind: 'transient', reason: first };
  return { kind: 'deterministic', reason: first };
}
