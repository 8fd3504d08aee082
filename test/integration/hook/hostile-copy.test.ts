/**
 * A hostile job in copy mode against the copy-back (the hook bringing a step's file-command folder
 * to the runner): every attack of zrh.local/hostile-copy:1 runs as a real step in a real job pod,
 * through the bundled hook driven like the runner. Each must fail with a message naming the member
 * and the rule, and leave the runner's side as it was (hashed before and after).
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, symlink, unlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HookCall } from '../../simulator/runner.js';
import type { StartedRunner } from '../../simulator/start.js';
import { createHookSuite, IMAGES, output, startRunner, type HookSuite } from './helpers.js';

/** What changes on the runner's side with every step, whatever the job does. */
const PER_STEP = ['_work/_temp/_runner_hook_responses', '_work/_temp/_zrh', '_work/_temp/_runner_file_commands'];

/**
 * A sha256 of every path under `root` (type, mode, a file's link count, link target, content): the runner's
 * home with its externals, the hook bundle and kubeconfig, `_work` with the workspace, `_actions`,
 * `_tool`, `_temp/_github_home` and `_temp/_github_workflow`. Left out: what the runner and the
 * hook rewrite for every step (see PER_STEP, and the step scripts at the top of `_temp`).
 */
async function runnerSideTree(root: string): Promise<Record<string, string>> {
  const tree: Record<string, string> = {};
  const walk = async (p: string): Promise<void> => {
    const rel = relative(root, p);
    if (PER_STEP.includes(rel) || /^_work\/_temp\/[^/]+\.sh$/.test(rel)) return;
    const st = await lstat(p);
    const h = createHash('sha256').update(`${st.mode}|${st.isDirectory() ? '' : st.nlink}|`);
    if (st.isSymbolicLink()) h.update(await readlink(p));
    else if (st.isFile()) h.update(await readFile(p));
    tree[rel || '.'] = h.digest('hex').slice(0, 16);
    if (st.isDirectory()) for (const n of (await readdir(p)).sort()) await walk(join(p, n));
  };
  await walk(root);
  return tree;
}

/** Names and kinds in the runner's file-command folder that are not regular files. */
async function oddEntries(dir: string): Promise<string[]> {
  const odd: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }))
    if (!e.isFile()) odd.push(`${e.name}${e.isSymbolicLink() ? ' (symlink)' : e.isFIFO() ? ' (fifo)' : e.isDirectory() ? ' (dir)' : ''}`);
  return odd;
}

const said = (call: HookCall) => `${call.stdout}\n${call.stderr}`;

describe('a hostile job in copy mode cannot write on the runner through the copy-back', () => {
  let suite: HookSuite;
  let runner: StartedRunner;
  let fileCommands: string;
  /** A folder of the runner's own outside `_work`, as an attacker's target. */
  let victim: string;
  let before: Record<string, string>;

  beforeAll(async () => {
    suite = await createHookSuite('hook-hostile-copy');
    runner = await startRunner(suite, 'copy');
    fileCommands = runner.layout.fileCommandsDir;
    victim = join(runner.root, 'victim');
    await mkdir(victim);
    await writeFile(join(victim, 'secret.txt'), 'the runner secret\n');
    const prepare = await runner.simulator.prepareJob({ image: IMAGES.hostileCopy });
    expect(prepare.ok, output(prepare)).toBe(true);
    expect(prepare.stdout).toMatch(/Workspace mode: copy/);
  });
  afterAll(async () => {
    await runner?.dispose();
    await suite?.ns.delete();
  });

  beforeEach(async () => {
    before = await runnerSideTree(runner.root);
  });

  /** The job cleans up after an attack, and a normal step (file commands included) works again. */
  async function cleanUpAndCarryOn(): Promise<void> {
    const clean = await runner.simulator.runScript('/hostile/clean.sh\necho "after=ok" >> "$GITHUB_OUTPUT"\n');
    expect(clean.ok, output(clean)).toBe(true);
    expect(clean.fileCommands.outputs).toEqual({ after: 'ok' });
    expect(await oddEntries(fileCommands)).toEqual([]);
  }

  it('a symlink planted in the file-command folder never reaches the runner', async () => {
    const plant = await runner.simulator.runScript(`/hostile/plant-symlink.sh ${runner.root}\n`);
    expect(plant.ok, output(plant)).toBe(false);
    expect(plant.stdout).toContain('hostile: planted');
    expect(said(plant)).toMatch(
      new RegExp(
        `Copying _temp/_runner_file_commands from .*:/__w to the runner was refused: member "_temp/_runner_file_commands/x" is a symbolic link \\(to "${runner.root}"\\); only regular files and folders come back to the runner`,
      ),
    );
    expect(await oddEntries(fileCommands)).toEqual([]);
    expect(await runnerSideTree(runner.root)).toEqual(before);
    await cleanUpAndCarryOn();
  });

  it('a file written through a symlink already on the runner (left by an earlier copy-back) is refused, and the link reaches the pod as a link', async () => {
    // What the unguarded copy-back left after `plant-symlink.sh`: `x -> the runner's home`.
    await symlink(runner.root, join(fileCommands, 'x'));
    before = await runnerSideTree(runner.root);
    const node = join(runner.layout.externalsDir, 'node20', 'bin', 'node');
    const sha = async (path: string) =>
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex');
    const nodeBefore = await sha(node);

    const write = await runner.simulator.runScript('/hostile/write-through.sh\n');
    expect(write.ok, output(write)).toBe(false);
    // The hook's own tar -c sent `x` as a link: nothing of the runner's home went to the pod.
    expect(write.stdout).toContain(`hostile: x arrived as a link to ${runner.root}`);
    expect(write.stdout).not.toMatch(/hostile: x has \d+ entries/);
    expect(write.stdout).toContain('hostile: wrote');
    expect(said(write)).toMatch(
      /member "_temp\/_runner_file_commands\/x" cannot be placed: "_temp\/_runner_file_commands\/x" on the runner is a symbolic link or special file, and the hook does not (write through|replace) it/,
    );
    expect(await sha(node)).toBe(nodeBefore);
    expect(await runnerSideTree(runner.root)).toEqual(before);
    await expect(readlink(join(fileCommands, 'x'))).resolves.toBe(runner.root);

    // The runner's side is the runner's to clean (the hook neither follows nor removes the link).
    await unlink(join(fileCommands, 'x'));
    await cleanUpAndCarryOn();
  });

  it('a FIFO in the file-command folder is refused', async () => {
    const step = await runner.simulator.runScript('/hostile/fifo.sh\n');
    expect(step.ok, output(step)).toBe(false);
    expect(said(step)).toMatch(/member "_temp\/_runner_file_commands\/fifo" is a FIFO; only regular files and folders come back to the runner/);
    expect(await oddEntries(fileCommands)).toEqual([]);
    expect(await runnerSideTree(runner.root)).toEqual(before);
    await cleanUpAndCarryOn();
  });

  it('a hard link in the file-command folder is refused', async () => {
    const step = await runner.simulator.runScript('/hostile/hardlink.sh\n');
    expect(step.ok, output(step)).toBe(false);
    expect(said(step)).toMatch(/member "_temp\/_runner_file_commands\/hl-[ab]" is a hard link \(to "_temp\/_runner_file_commands\/hl-[ab]"\)/);
    await expect(lstat(join(fileCommands, 'hl-a'))).rejects.toThrow(/ENOENT/);
    await expect(lstat(join(fileCommands, 'hl-b'))).rejects.toThrow(/ENOENT/);
    expect(await runnerSideTree(runner.root)).toEqual(before);
    await cleanUpAndCarryOn();
  });

  it('a member outside the folders the step may return (the job lying through its own tar) is refused', async () => {
    const homeBashrc = join(runner.layout.githubHome, '.bashrc');
    const step = await runner.simulator.runScript('/hostile/outside.sh\n');
    expect(step.ok, output(step)).toBe(false);
    expect(said(step)).toMatch(/member "_temp\/_github_home\/?" is outside the folders this step may return \(_temp\/_runner_file_commands\)/);
    await expect(lstat(homeBashrc)).rejects.toThrow(/ENOENT/);
    expect(await runnerSideTree(runner.root)).toEqual(before);
    await cleanUpAndCarryOn();
  });

  it('a file over the size limit is refused at its header, and the hook stops the transfer at once', async () => {
    const started = Date.now();
    const step = await runner.simulator.runScript('/hostile/huge.sh 7168\n');
    const seconds = (Date.now() - started) / 1000;
    expect(step.ok, output(step)).toBe(false);
    expect(step.stdout).toContain('huge is 7516192768 bytes');
    expect(said(step)).toMatch(/member "_temp\/_runner_file_commands\/huge" is 7516192768 bytes, over the 67108864 bytes a file may have/);
    // Streaming 7 GiB through the API server would take far longer than this.
    expect(seconds).toBeLessThan(30);
    await expect(lstat(join(fileCommands, 'huge'))).rejects.toThrow(/ENOENT/);
    expect(await runnerSideTree(runner.root)).toEqual(before);
    await cleanUpAndCarryOn();
  });

  it("a container step's FIFO in its file commands is refused too (the step pod's copy-back), and the job pod gets none of the step's workspace", async () => {
    // The step also writes into the workspace: its copy to the job pod starts alongside the file
    // commands' and may reach the job pod only once those were taken.
    const script = await runner.simulator.runScript(
      'printf "%s\\n" "echo from-the-step > /github/workspace/zrh-step-wrote-this" "exec /hostile/fifo.sh" > "$GITHUB_WORKSPACE/zrh-hostile-step.sh"\n',
    );
    expect(script.ok, output(script)).toBe(true);
    const step = await runner.simulator.runContainerStep({ image: IMAGES.hostileCopy, entryPoint: 'sh', args: ['/github/workspace/zrh-hostile-step.sh'] });
    expect(step.ok, output(step)).toBe(false);
    expect(step.stdout).toContain('hostile: made FIFO /github/file_commands/fifo');
    expect(said(step)).toMatch(
      /Copying _temp\/_runner_file_commands from .*:.* to the runner was refused: member "_temp\/_runner_file_commands\/fifo" is a FIFO/,
    );
    expect(await oddEntries(fileCommands)).toEqual([]);
    expect(await runnerSideTree(runner.root)).toEqual(before);
    // The step pod is gone; the job pod never got the FIFO (its copy comes after the refused one).
    const next = await runner.simulator.runScript(
      'test ! -e "$(dirname "$GITHUB_OUTPUT")/fifo" && echo "no fifo in the job pod"\n' +
        'test ! -e "$GITHUB_WORKSPACE/zrh-step-wrote-this" && echo "nothing of the step in the job pod"\n',
    );
    expect(next.ok, output(next)).toBe(true);
    expect(next.stdout).toContain('no fifo in the job pod');
    expect(next.stdout).toContain('nothing of the step in the job pod');
  });

  it("the victim folder and the runner's externals are as they were after all attacks", async () => {
    await expect(readFile(join(victim, 'secret.txt'), 'utf8')).resolves.toBe('the runner secret\n');
    expect(await readdir(victim)).toEqual(['secret.txt']);
    const cleanup = await runner.simulator.cleanupJob();
    expect(cleanup.ok, output(cleanup)).toBe(true);
  });
});
