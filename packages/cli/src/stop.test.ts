import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { catchStopSignals, exitCodeOf } from './stop.ts';

describe('catchStopSignals', () => {
  it('the first signal asks for a stop, a second of the same kind calls onSecond; dispose removes the handlers', () => {
    const target = new EventEmitter();
    const seen: string[] = [];
    const stop = catchStopSignals({ onFirst: (s) => seen.push(`first ${s}`), onSecond: (s) => seen.push(`second ${s}`), target: target as never });
    expect(stop.requested).toBe(false);
    expect(stop.signal).toBeNull();
    target.emit('SIGINT');
    expect(stop.requested).toBe(true);
    expect(stop.signal).toBe('SIGINT');
    // the terminal's SIGINT and a parent's forwarded SIGTERM for one Ctrl-C: still the first
    target.emit('SIGTERM');
    expect(seen).toEqual(['first SIGINT']);
    target.emit('SIGINT');
    target.emit('SIGTERM');
    expect(seen).toEqual(['first SIGINT', 'second SIGINT', 'second SIGTERM']);
    expect(target.listenerCount('SIGINT') + target.listenerCount('SIGTERM')).toBe(2);
    stop.dispose();
    expect(target.listenerCount('SIGINT') + target.listenerCount('SIGTERM')).toBe(0);
  });
  it('exit codes follow the shell: 128 + the signal number', () => {
    expect(exitCodeOf('SIGINT')).toBe(130);
    expect(exitCodeOf('SIGTERM')).toBe(143);
  });
});
