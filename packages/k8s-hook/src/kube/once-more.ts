import { errorCode, HookError } from '../errors.js';

/**
 * Runs `run`, and once more when it failed because a connection failed around an exec's start
 * (`CONNECTION_FAILED`, also as the cause of a `HookError`): the exec may or may not have reached
 * the API server. Only for what may run twice (a copy writing the same files, `sync`, a marker);
 * any other failure, or one after `signal` aborted, is thrown as it is.
 */
export async function onceMoreAfterConnectionFailure<T>(run: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (signal?.aborted || errorCode(err instanceof HookError ? err.cause : err) !== 'CONNECTION_FAILED') throw err;
    return run();
  }
}
