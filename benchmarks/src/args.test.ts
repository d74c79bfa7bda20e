import { describe, expect, it } from 'vitest';
import { checkProfile, parseFlags, type FlagSpec } from './args.ts';

const SPECS: FlagSpec[] = [
  { name: 'profile', value: true, help: 'smoke | cpu | paper' },
  { name: 'list', value: false, help: 'list' },
];

describe('parseFlags', () => {
  it('reads values, --k=v and booleans', () => {
    expect(parseFlags(['--profile', 'cpu', '--list'], SPECS)).toEqual({ profile: 'cpu', list: true });
    expect(parseFlags(['--', '--profile=smoke'], SPECS)).toEqual({ profile: 'smoke' });
  });
  it('refuses unknown flags (listing valid ones), missing values and stray words', () => {
    expect(() => parseFlags(['--profil', 'cpu'], SPECS)).toThrow(/unknown flag --profil; valid: --profile, --list/);
    expect(() => parseFlags(['--profile'], SPECS)).toThrow(/--profile needs a value/);
    expect(() => parseFlags(['--profile', '--list'], SPECS)).toThrow(/--profile needs a value/);
    expect(() => parseFlags(['cpu'], SPECS)).toThrow(/unexpected argument "cpu"/);
  });
  it('checks profile names', () => {
    expect(checkProfile('paper', '--profile')).toBe('paper');
    expect(() => checkProfile('gpu', '--profile')).toThrow(/--profile = "gpu" is not a profile; valid: smoke, quick, cpu, paper/);
  });
});
