import { ExecError } from '../errors.js';

/** Where an exec ran, for messages. */
export interface ExecTarget {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly command: readonly string[];
}

/** `pod ns/name container c` */
export function describeTarget(t: ExecTarget): string {
  return `pod ${t.namespace}/${t.pod} container ${t.container}`;
}

/**
 * Reads the status channel's message (a `meta/v1 Status`): `Success` → 0; `NonZeroExitCode` →
 * the code from its `ExitCode` cause; anything else (container or command not found, …) throws
 * an `ExecError` with the server's message.
 */
export function parseExecStatus(payload: Buffer | string, target: ExecTarget): number {
  const text = payload.toString();
  let status: { status?: unknown; reason?: unknown; message?: unknown; details?: { causes?: unknown } };
  try {
    status = JSON.parse(text) as typeof status;
  } catch (err) {
    throw new ExecError('EXEC_FAILED', `the exec status of ${describeTarget(target)} is not JSON`, { cause: err });
  }
  if (status?.status === 'Success') return 0;
  if (status?.reason === 'NonZeroExitCode') {
    const causes = Array.isArray(status.details?.causes) ? (status.details.causes as Array<{ reason?: unknown; message?: unknown }>) : [];
    const exit = causes.find((c) => c?.reason === 'ExitCode');
    const code = Number(exit?.message);
    if (Number.isInteger(code) && code >= 0) return code;
  }
  const message = typeof status?.message === 'string' && status.message !== '' ? status.message : 'unknown failure';
  throw new ExecError('EXEC_FAILED', `exec of ${JSON.stringify(target.command[0] ?? '')} in ${describeTarget(target)} failed: ${message}`, {
    hint: 'Check that the container is running and the command exists in its image',
  });
}
