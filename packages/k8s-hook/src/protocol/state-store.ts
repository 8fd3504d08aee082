import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check as c, type Output } from '@zfs-runner-hooks/vocabulary';
import { HookError } from '../errors.js';
import { resolveRunnerDirs } from '../workspace/paths.js';
import { appendPrivateFile, openPrivateDir, readPrivateFile, removePrivateFile, writePrivateFile, type PrivateDir } from './private-dir.js';
import { KEY_BYTES, sealState, unsealState, type Sealed } from './state-seal.js';
import { parseJobState, type JobState, type WorkspaceMode } from './state.js';

/** The private folder's default: `<tmpdir>/zrh-state-<uid>` (like the code cache's `zrh-hook-<uid>`). */
export function defaultStateDir(uid: number): string {
  return join(tmpdir(), `zrh-state-${uid}`);
}

/** What the hook knows about itself, from its own environment. */
export interface StateStoreOptions {
  /** The private folder (`ZRH_STATE_DIR`). */
  readonly dir: string;
  /** The hook's uid: the owner of the folder and its files. */
  readonly uid: number;
  readonly runnerPodName: string;
  /** The namespace of this hook's job pods. */
  readonly namespace: string;
  /** The configured workspace mode (`auto`: the one prepare_job chose, kept in the folder). */
  readonly workspaceMode: 'auto' | WorkspaceMode;
}

/**
 * The job's record in the private folder: the sequence number of the state the runner holds
 * (`accepted`) and the highest one ever handed out (`issued`). The job's facts are not kept here:
 * a state whose seal and number check out is the one the hook sealed, facts included.
 */
const recordSchema = c.object({
  accepted: c.integer(0),
  issued: c.integer(0),
});
type JobRecord = Output<typeof recordSchema>;

const HINT =
  "The runner keeps the hook's state in a file the job pod can write (volume mode mounts all of _work); a process the job left running can replace it. " +
  'The hook does not act on such a state. Look for a step that starts background processes or writes under _temp/_runner_hook_responses, and re-run the job.';

function invalid(message: string): HookError {
  return new HookError('STATE_INVALID', message, { hint: HINT });
}

/** JSON text as a value; undefined when missing or not JSON. */
function parseJson(data: Buffer | undefined): unknown {
  try {
    return data ? (JSON.parse(data.toString('utf8')) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why a (genuine) state does not belong here: compared with what the hook derives from its own
 * environment (`own`). Empty when it does.
 */
export function foreignFacts(
  state: JobState,
  own: { readonly namespace: string; readonly runnerPod: string; readonly workDir: string | undefined; readonly mode: 'auto' | WorkspaceMode },
): string[] {
  const problems: string[] = [];
  if (state.namespace !== own.namespace) problems.push(`its namespace "${state.namespace}" is not this hook's "${own.namespace}"`);
  if (state.runnerPod.name !== own.runnerPod)
    problems.push(`its runner pod "${state.runnerPod.name}" is not this hook's "${own.runnerPod}" (ACTIONS_RUNNER_POD_NAME)`);
  if (own.workDir !== undefined && state.workspace.workDir !== own.workDir)
    problems.push(`its work directory "${state.workspace.workDir}" is not the runner's "${own.workDir}"`);
  if (own.mode !== 'auto' && state.workspace.mode !== own.mode)
    problems.push(`its workspace mode "${state.workspace.mode}" is not the configured "${own.mode}" (ZRH_WORKSPACE_MODE)`);
  return problems;
}

/**
 * The hook's side of the job state (docs/decisions/0015-sealed-job-state.md): prepare_job makes a
 * fresh key in the private folder, every state the hook hands out is sealed with it and a new
 * sequence number, and a state the runner passes back is used only when its seal is valid, its
 * number is the one the runner last accepted, and its facts are this hook's own. The folder also
 * keeps the journal (which steps started and which succeeded, which Secrets may still exist).
 */
export class JobStateStore {
  readonly #options: StateStoreOptions;
  #dir: PrivateDir | undefined;
  #key: Buffer | undefined;
  #record: JobRecord | undefined;
  #sealed: JobRecord | undefined;

  constructor(options: StateStoreOptions) {
    this.#options = options;
  }

  #file(ext: 'key' | 'json' | 'steps'): string {
    return `${this.#options.runnerPodName}.${ext}`;
  }

  async #folder(workDir: string | undefined): Promise<PrivateDir> {
    this.#dir ??= await openPrivateDir(this.#options.dir, this.#options.uid, workDir);
    return this.#dir;
  }

  /** prepare_job: a fresh key and an empty journal; every state of an earlier job of this runner stops being valid. */
  async startJob(workDir: string): Promise<void> {
    const dir = await this.#folder(workDir);
    await Promise.all([removePrivateFile(dir, this.#file('json')), removePrivateFile(dir, this.#file('steps'))]);
    const key = randomBytes(KEY_BYTES);
    await writePrivateFile(dir, this.#file('key'), key);
    this.#key = key;
    this.#record = undefined;
  }

  /**
   * Verifies the state the runner passed back with a command. Throws `STATE_INVALID` (never
   * quoting the state's content before its seal is checked) when there is none, when it is
   * forged or changed, an older or never accepted state of this job, or not this runner's.
   */
  async open(raw: unknown, responseFile: string): Promise<JobState> {
    if (raw === null || raw === undefined) return parseJobState(raw);
    const workDir = resolveRunnerDirs([], responseFile, '')?.workDir;
    const dir = await this.#folder(workDir);
    const key = await readPrivateFile(dir, this.#file('key'));
    const runner = this.#options.runnerPodName;
    if (!key) {
      throw invalid(
        `The job state cannot be checked: runner ${runner} has no state key in ${dir.path} (prepare_job of this job did not run in this runner container, or cleanup_job has ended the job); it is not used`,
      );
    }
    if (key.length !== KEY_BYTES) throw invalid(`The state key of runner ${runner} in ${dir.path} is damaged (${key.length} bytes); the job state is not used`);
    const unsealed = unsealState(raw, key);
    if (!unsealed.ok) throw invalid(`The job state the runner passed back was not written by this hook for this job: ${unsealed.reason}. It is not used`);
    const record = c.parse(recordSchema, parseJson(await readPrivateFile(dir, this.#file('json'))));
    if (!record.ok) throw invalid(`The job state cannot be checked: the record of runner ${runner} in ${dir.path} is missing or damaged; it is not used`);
    const { accepted } = record.value;
    if (unsealed.seq !== accepted) {
      throw invalid(
        unsealed.seq < accepted
          ? `The job state the runner passed back is an older state of this job (number ${unsealed.seq}; the runner accepted number ${accepted}): a replayed state is not used`
          : `The job state the runner passed back is number ${unsealed.seq}, which the runner never accepted (it accepted number ${accepted}; a failed command's state is dropped): it is not used`,
      );
    }
    const state = parseJobState(unsealed.body);
    const own = { namespace: this.#options.namespace, runnerPod: runner, workDir, mode: this.#options.workspaceMode };
    const problems = foreignFacts(state, own);
    if (problems.length) throw invalid(`The job state does not belong to this runner: ${problems.join('; ')}. It is not used`);
    this.#key = key;
    this.#record = record.value;
    return state;
  }

  /**
   * Seals `state` as the next state of the job and records its number as handed out (so a state
   * the runner drops, e.g. of a failed step, can never be passed back later). Call after
   * `startJob` or `open`.
   */
  async seal(state: JobState): Promise<Sealed<JobState>> {
    const key = this.#key;
    if (!this.#dir || !key) throw new Error('JobStateStore.seal: no key (call startJob or open first)');
    const issued = (this.#record?.issued ?? 0) + 1;
    const record: JobRecord = { accepted: this.#record?.accepted ?? 0, issued };
    await writePrivateFile(this.#dir, this.#file('json'), JSON.stringify(record));
    this.#record = record;
    this.#sealed = { ...record, accepted: issued };
    return sealState(state, issued, key);
  }

  /** After the command succeeded (the runner keeps its response): the sealed state is the one the runner holds. */
  async commit(): Promise<void> {
    if (!this.#dir || !this.#sealed) return;
    await writePrivateFile(this.#dir, this.#file('json'), JSON.stringify(this.#sealed));
    this.#sealed = undefined;
  }

  /**
   * Step journal: the runner drops the response (and so the state) of a command that fails, is
   * cancelled or killed, so cleanup_job learns of such steps only from here. A step records
   * `start <id>` before it runs and `ok <id>` once it succeeded and its response was written.
   */
  async markStep(id: string, event: 'start' | 'ok'): Promise<void> {
    if (!this.#dir) throw new Error('JobStateStore.markStep: open the state first');
    await appendPrivateFile(this.#dir, this.#file('steps'), `${event} ${id}\n`);
  }

  /**
   * Secret journal: the names of the Secrets a command is about to create (`created`, written
   * before the create) and of those it deleted again (`deleted`). A command killed in between
   * leaves its Secrets in the journal, and cleanup_job deletes them by name (the hook may not list
   * Secrets), with or without a state.
   */
  async markSecrets(names: readonly string[], event: 'created' | 'deleted'): Promise<void> {
    if (names.length === 0) return;
    if (!this.#dir) throw new Error('JobStateStore.markSecrets: open the state first');
    await appendPrivateFile(this.#dir, this.#file('steps'), names.map((n) => `secret-${event} ${n}\n`).join(''));
  }

  /**
   * The Secrets the journal says were created and not deleted again, in the order created. Without
   * an opened state, `responseFile` places the runner's _work, which the folder must be outside.
   */
  async outstandingSecrets(responseFile: string): Promise<string[]> {
    this.#dir ??= await this.#folder(resolveRunnerDirs([], responseFile, '')?.workDir);
    const outstanding = new Set<string>();
    for (const [event, name] of await this.#journal()) {
      if (event === 'secret-created') outstanding.add(name);
      else if (event === 'secret-deleted') outstanding.delete(name);
    }
    return [...outstanding];
  }

  /** How many steps started but never succeeded (see `markStep`); 0 when none ran. */
  async unsuccessfulSteps(): Promise<number> {
    const started = new Set<string>();
    for (const [event, id] of await this.#journal()) {
      if (event === 'start') started.add(id);
      else if (event === 'ok') started.delete(id);
    }
    return started.size;
  }

  /** The journal's entries as [event, id]; empty when there is none. */
  async #journal(): Promise<[string, string][]> {
    const dir = await this.#folder(undefined);
    const text = (await readPrivateFile(dir, this.#file('steps')))?.toString('utf8') ?? '';
    const entries: [string, string][] = [];
    for (const line of text.split('\n')) {
      const [event, id] = line.split(' ');
      if (event && id) entries.push([event, id]);
    }
    return entries;
  }

  /** cleanup_job: removes the key, the record and the journal; no state of this job is valid afterwards. */
  async endJob(): Promise<void> {
    const dir = await this.#folder(undefined);
    await Promise.all((['key', 'json', 'steps'] as const).map((ext) => removePrivateFile(dir, this.#file(ext))));
    this.#key = undefined;
    this.#record = undefined;
    this.#sealed = undefined;
  }
}
