import { writeFile } from 'node:fs/promises';
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
  readonly state: JobState;
  readonly context: {
    readonly container?: ContainerContext;
    readonly services: readonly ContainerContext[];
  };
  readonly isAlpine: boolean;
}

/** What the step commands answer: only the updated state. */
export interface StateResponse {
  readonly state: JobState;
}

/** An empty object leaves the runner's stored state unchanged. */
export type HookResponse = PrepareJobResponse | StateResponse | Record<string, never>;

/** Writes the response into the file the runner created (replacing its empty content). */
export async function writeResponse(responseFile: string, response: HookResponse): Promise<void> {
  await writeFile(responseFile, JSON.stringify(response), 'utf8');
}
