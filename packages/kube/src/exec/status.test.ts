import { describe, expect, it } from 'vitest';
import { ExecError } from '../errors.js';
import { fixture } from '../fixtures/load.js';
import { parseExecStatus } from './status.js';

const target = { namespace: 'ci', pod: 'job-1', container: 'job', command: ['no-such-cmd'] };

describe('parseExecStatus', () => {
  it.each([
    ['{"metadata":{},"status":"Success"}', 0],
    [fixture('exec-status-exit-42.json'), 42],
    ['{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"1"}]}}', 1],
  ])('reads %s as exit code %i', (status, code) => {
    expect(parseExecStatus(Buffer.from(status), target)).toBe(code);
  });

  it('throws an ExecError with the server message when the command cannot start', () => {
    const run = () => parseExecStatus(fixture('exec-status-not-found.json'), target);
    expect(run).toThrow(ExecError);
    expect(run).toThrow(/^exec of "no-such-cmd" in pod ci\/job-1 container job failed: failed to exec in container: .*executable file not found in \$PATH/);
  });

  it('throws when NonZeroExitCode has no usable exit code', () => {
    expect(() => parseExecStatus('{"status":"Failure","reason":"NonZeroExitCode","message":"weird","details":{"causes":[]}}', target)).toThrow('failed: weird');
  });

  it('throws on a status that is not JSON', () => {
    expect(() => parseExecStatus('oops', target)).toThrow('the exec status of pod ci/job-1 container job is not JSON');
  });
});
