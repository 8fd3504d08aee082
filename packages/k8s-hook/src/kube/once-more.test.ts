import { KubeConnectionError } from '@zfs-runner-hooks/kube';
import { describe, expect, it } from 'vitest';
import { HookError } from '../errors.js';
import { onceMoreAfterConnectionFailure } from './once-more.js';

const reset = () => new KubeConnectionError('https://127.0.0.1:6443', 'cannot reach the Kubernetes API (ECONNRESET)');

/** A run that fails with `errors` in turn, then answers how many times it ran. */
function failing(...errors: Error[]) {
  let runs = 0;
  return async () => {
    runs++;
    const err = errors.shift();
    if (err) throw err;
    return runs;
  };
}

describe('onceMoreAfterConnectionFailure', () => {
  it('runs once more after a connection failure, also one a HookError carries as its cause', async () => {
    expect(await onceMoreAfterConnectionFailure(failing(reset()))).toBe(2);
    expect(await onceMoreAfterConnectionFailure(failing(new HookError('COPY_FAILED', 'copy failed', { cause: reset() })))).toBe(2);
  });

  it('runs only once more', async () => {
    await expect(onceMoreAfterConnectionFailure(failing(reset(), reset()))).rejects.toThrow(/ECONNRESET/);
  });

  it('does not repeat any other failure, nor after the signal aborted', async () => {
    await expect(onceMoreAfterConnectionFailure(failing(new HookError('COPY_FAILED', 'tar exited with 2')))).rejects.toThrow('tar exited with 2');
    const stop = new AbortController();
    stop.abort();
    await expect(onceMoreAfterConnectionFailure(failing(reset()), stop.signal)).rejects.toThrow(/ECONNRESET/);
  });
});
