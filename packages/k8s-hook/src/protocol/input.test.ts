import { describe, expect, it } from 'vitest';
import { hookStdin, runnerContainer } from '../testing/fixtures.js';
import { parseHookInput } from './input.js';

const parse = (v: unknown) => parseHookInput(JSON.stringify(v));
const problems = (v: unknown): string => {
  try {
    parse(v);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a validation error');
};

describe('parseHookInput', () => {
  it('accepts prepare_job exactly as the runner writes it, nulls included', () => {
    const input = parse(hookStdin('prepare_job', { container: runnerContainer(), services: [runnerContainer({ image: 'redis' })] }));
    expect(input.command).toBe('prepare_job');
    if (input.command !== 'prepare_job') return;
    expect(input.args.container?.image).toBe('node:20');
    expect(input.args.container?.registry).toBeUndefined();
    expect(input.args.services.map((s) => s.image)).toEqual(['redis']);
  });

  it('reports every problem with its path', () => {
    const msg = problems(hookStdin('prepare_job', { container: runnerContainer({ image: null }), services: [runnerContainer({ portMappings: 5 })] }));
    expect(msg).toContain('args.container.image: expected string, got null');
    expect(msg).toContain('args.services[0].portMappings: expected array, got number');
  });

  it.each([
    ['empty stdin', '', 'stdin was empty'],
    ['not JSON', '{oops', 'stdin is not JSON'],
    [
      'an empty object',
      '{}',
      'command: expected one of "prepare_job", "cleanup_job", "run_script_step", "run_container_step", got nothing\n  responseFile: expected string, got nothing',
    ],
    ['an unknown command', JSON.stringify({ command: 'exec', responseFile: '/x', args: {} }), 'command: expected one of'],
    ['no response file', JSON.stringify({ command: 'cleanup_job', args: {} }), 'responseFile: expected string, got nothing'],
  ])('rejects %s', (_name, text, message) => {
    expect(() => parseHookInput(text)).toThrow(message);
  });

  it('tolerates unknown fields and keeps env keys as written', () => {
    const input = parse({
      ...hookStdin('run_script_step', {
        entryPoint: 'sh',
        entryPointArgs: ['-e', '', '/x.sh'],
        environmentVariables: { myVar: 'a', EMPTY: null },
        prependPath: null,
        workingDirectory: '/__w/r/r',
        future: 1,
      }),
      extra: true,
    });
    if (input.command !== 'run_script_step') throw new Error('wrong command');
    expect(input.args.environmentVariables).toEqual({ myVar: 'a', EMPTY: '' });
    expect(input.args.entryPointArgs).toEqual(['-e', '', '/x.sh']);
    expect(input.args.prependPath).toEqual([]);
  });

  it.each([
    [
      ['/a/bin', '/b/bin'],
      ['/a/bin', '/b/bin'],
    ],
    ['/a/bin:/b/bin', ['/a/bin:/b/bin']],
    [null, []],
    ['', []],
  ])('accepts prependPath %j', (prependPath, expected) => {
    const input = parse(hookStdin('run_script_step', { entryPoint: 'sh', entryPointArgs: [], environmentVariables: {}, prependPath, workingDirectory: null }));
    if (input.command !== 'run_script_step') throw new Error('wrong command');
    expect(input.args.prependPath).toEqual(expected);
  });

  it('accepts cleanup_job with null args and null state', () => {
    expect(parse(hookStdin('cleanup_job', null)).command).toBe('cleanup_job');
  });

  it('accepts a container step without an image (Dockerfile action) for the command to reject', () => {
    const input = parse(hookStdin('run_container_step', runnerContainer({ image: null, dockerfile: '/home/runner/_work/_actions/o/r/v1/Dockerfile' })));
    if (input.command !== 'run_container_step') throw new Error('wrong command');
    expect(input.args.image).toBeUndefined();
    expect(input.args.dockerfile).toContain('Dockerfile');
  });
});
