import { constants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { HookError } from '../errors.js';
import type { Sealed } from './state-seal.js';
import type { JobState } from './state.js';

/** One entry of `context.services` (and the shape of `context.container`). */
export interface ContainerContext {
  readonly id: string;
  readonly network: string;
  /** `{"<containerPort>": "<hostPort>"}`; never null. */
  readonly ports: Readonly<Record<string, string>>;
}

/** What prepare_job answers. */
export interface PrepareJobResponse {
  readonly state: Sealed<JobState>;
  readonly context: {
    readonly container?: ContainerContext;
    readonly services: readonly ContainerContext[];
  };
  readonly isAlpine: boolean;
}

/** What the step commands answer: only the updated state. */
export interface StateResponse {
  readonly state: Sealed<JobState>;
}

/** An empty object leaves the runner's stored state unchanged. */
export type HookResponse = PrepareJobResponse | StateResponse | Record<string, never>;

const { O_WRONLY, O_NOFOLLOW, O_NONBLOCK } = constants;

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

const OPEN_PROBLEMS: Readonly<Record<string, string>> = {
  ELOOP: 'it is a symbolic link',
  ENXIO: 'it is a FIFO or socket',
  EISDIR: 'it is a directory',
  ENOENT: 'it no longer exists',
  EACCES: 'the hook may not write it',
  EPERM: 'the hook may not write it',
  ENOTDIR: 'a folder on its path is not a folder',
};

/** What makes an opened response file unfit, or undefined when it is still the runner's. */
function problemOf(st: Stats, uid: number): string | undefined {
  if (!st.isFile()) return `it is ${kindOf(st)}`;
  if (st.uid !== uid) return `it is owned by uid ${st.uid}, not by the hook's uid ${uid}`;
  if (st.nlink !== 1) return `it has ${st.nlink} hard links`;
  return undefined;
}

/**
 * Writes the response into the file the runner created, only while it is still that file: opened
 * without creating it and without following a link (`O_WRONLY|O_NOFOLLOW|O_NONBLOCK`, so a FIFO
 * never blocks), then it must be a regular file of the hook's user with one link; truncated and
 * written through the same descriptor. Anything else (symbolic link, FIFO, directory, hard link,
 * another owner than `uid`, the hook's) fails with `RESPONSE_FILE_UNSAFE` and nothing is written
 * anywhere.
 */
export async function writeResponse(responseFile: string, response: HookResponse, uid: number = process.getuid?.() ?? 0): Promise<void> {
  const refuse = (why: string, cause?: unknown) =>
    new HookError(
      'RESPONSE_FILE_UNSAFE',
      `The hook's response was not written: the response file ${responseFile} is no longer the file the runner created (${why})`,
      {
        hint: 'In volume mode the job pod can write under _work/_temp/_runner_hook_responses; a process the job started replaced the file. The command is reported as failed.',
        ...(cause ? { cause } : {}),
      },
    );
  const handle = await open(responseFile, O_WRONLY | O_NOFOLLOW | O_NONBLOCK).catch((err: NodeJS.ErrnoException) => {
    throw refuse(OPEN_PROBLEMS[err.code ?? ''] ?? err.message, err);
  });
  try {
    const problem = problemOf(await handle.stat(), uid);
    if (problem) throw refuse(problem);
    await handle.truncate(0);
    await handle.writeFile(JSON.stringify(response), 'utf8');
  } finally {
    await handle.close();
  }
}
