import { describe, expect, it } from 'vitest';
import { splitSources } from './copy-step-pod.js';

const m = (rel: string, readOnly = false) => ({ target: `/t/${rel}`, rel, readOnly });

describe('splitSources', () => {
  it('takes file commands from the runner, externals from its externals and the rest from the job pod', () => {
    expect(
      splitSources([
        m('repo/repo'),
        m('_temp/_github_home'),
        m('_temp/_runner_file_commands'),
        m('_temp'),
        m('_externals/node20', true),
        m('_externals/node20/bin', true),
      ]),
    ).toEqual({
      local: ['_temp/_runner_file_commands'],
      externals: ['_externals/node20'],
      fromJob: ['_temp', 'repo/repo'],
    });
  });

  it('takes nothing from the runner when the step mounts no file commands', () => {
    expect(splitSources([m('repo/repo')])).toEqual({ local: [], externals: [], fromJob: ['repo/repo'] });
  });
});
