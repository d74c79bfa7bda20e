/**
 * Ctrl-C and SIGTERM for programs that train: the first signal asks the program to stop at its next step (it writes
 * a checkpoint there and records the run as stopped), a second signal of the same kind stops it at once. Ctrl-C in a
 * terminal reaches every process of the foreground group, so a cell process gets the terminal's SIGINT and its
 * sweep's forwarded SIGTERM for one key press: a signal of the other kind than the first does not count as the second.
 *
 *   const stop = catchStopSignals({
 *     onFirst: (sig) => process.stdout.write(`[x] ${sig}: stopping at the next step… (again: stop at once)\n`),
 *     onSecond: (sig) => { markStopped(); process.exit(exitCodeOf(sig)); },
 *   });
 *   await train({ shouldStop: () => stop.requested });
 *   stop.dispose();
 *   return stop.signal ? exitCodeOf(stop.signal) : 0;
 */

/** The signals a stop is asked with: Ctrl-C in a terminal, and what process managers send. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
export type StopSignalName = (typeof STOP_SIGNALS)[number];

/** The shell's exit status of a process ended by `sig`: 128 + its number (SIGINT 130, SIGTERM 143). */
export function exitCodeOf(sig: StopSignalName): number {
  return sig === 'SIGINT' ? 130 : 143;
}

/** Options of {@link catchStopSignals}. */
export interface CatchStopOptions {
  /** Called once, on the first signal (say what happens next). */
  onFirst: (sig: StopSignalName) => void;
  /** Called on a second signal of a kind already seen; default: exit at once with {@link exitCodeOf}. */
  onSecond?: (sig: StopSignalName) => void;
  /** Where the handlers are installed (default `process`; tests pass an emitter). */
  target?: Pick<NodeJS.Process, 'on' | 'off'>;
}

/** The state of a {@link catchStopSignals} handler. */
export interface StopRequest {
  /** True once a stop signal came. */
  readonly requested: boolean;
  /** The first signal, or null. */
  readonly signal: StopSignalName | null;
  /** Removes the handlers (signals then act as they do by default). */
  dispose(): void;
}

/** Installs the SIGINT / SIGTERM handlers described in the module comment. */
export function catchStopSignals(o: CatchStopOptions): StopRequest {
  const target = o.target ?? process;
  let first: StopSignalName | null = null;
  const seen = new Set<StopSignalName>();
  const handlers = STOP_SIGNALS.map((sig) => {
    const h = (): void => {
      const again = seen.has(sig);
      seen.add(sig);
      if (first === null) {
        first = sig;
        o.onFirst(sig);
      } else if (again) {
        (o.onSecond ?? ((s: StopSignalName) => process.exit(exitCodeOf(s))))(sig);
      }
    };
    target.on(sig, h);
    return [sig, h] as const;
  });
  return {
    get requested() { return first !== null; },
    get signal() { return first; },
    dispose() { for (const [sig, h] of handlers) target.off(sig, h); },
  };
}
