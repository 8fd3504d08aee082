import { describe, expect, it } from 'vitest';
import { nextState, parseResponse } from '../../simulator/response.js';
import { cleanupJobInput, prepareJobInput } from '../../simulator/stdin.js';
import { planWorkLayout } from '../../simulator/work-layout.js';

const layout = planWorkLayout({ workDir: '/w', externalsDir: '/e', repository: 'o/r' });
const prepare = prepareJobInput(layout, '/w/_temp/_runner_hook_responses/x.json', { image: 'debian:12' }, [{ image: 'redis:7' }, { image: 'postgres:16' }]);

describe('parseResponse', () => {
  it('accepts a complete prepare_job response', () => {
    const text = JSON.stringify({
      state: { jobPod: 'p' },
      isAlpine: false,
      context: {
        container: { id: 'p', network: '' },
        services: [
          { id: 'redis', network: '', ports: { '6379': '6379' } },
          { id: 'postgres', network: '', ports: {} },
        ],
      },
    });
    expect(parseResponse(prepare, text).problems).toEqual([]);
  });

  it('lists every way a prepare_job response would break the runner', () => {
    const text = JSON.stringify({
      state: 'not an object',
      context: { container: { id: 1 }, services: [{ id: 'redis', ports: null }] },
    });
    expect(parseResponse(prepare, text).problems).toEqual([
      'state: expected an object',
      'isAlpine: required (boolean) when a job container is requested',
      'context.container.id: expected a string',
      'context.services: 2 services requested, 1 returned',
      'context.services[0].ports: expected an object (not null)',
    ]);
  });

  it('treats an empty response file as no response, which only prepare_job may not give', () => {
    expect(parseResponse(prepare, '')).toEqual({ response: null, problems: ['prepare_job wrote no response'] });
    expect(parseResponse(cleanupJobInput('/x', null), '')).toEqual({ response: null, problems: [] });
  });

  it('rejects text that is not JSON', () => {
    expect(parseResponse(cleanupJobInput('/x', null), '{').problems[0]).toMatch(/^response is not JSON/);
  });
});

describe('nextState', () => {
  it("replaces the state with the response's and keeps it otherwise", () => {
    expect(nextState({ a: 1 }, { state: { b: 2 } })).toEqual({ b: 2 });
    expect(nextState({ a: 1 }, {})).toEqual({ a: 1 });
    expect(nextState({ a: 1 }, null)).toEqual({ a: 1 });
  });
});
