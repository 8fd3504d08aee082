import type { DemoEntry } from './demo-job.js';
import type { StepCall } from './runner.js';

/** Writes a line to stdout. */
export function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** A section heading. */
export function heading(title: string): void {
  say();
  say(`━━ ${title} ${'━'.repeat(Math.max(3, 76 - title.length))}`);
}

/** Formats milliseconds as seconds with two decimals. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Live hook output, indented under the current part. */
export function hookOutput(chunk: string, stream: 'stdout' | 'stderr'): void {
  const mark = stream === 'stderr' ? '│!' : '│ ';
  const lines = chunk.replace(/\n$/, '').split('\n');
  for (const line of lines) say(`    ${mark} ${line}`);
}

function isStep(call: DemoEntry['call']): call is StepCall {
  return 'fileCommands' in call;
}

/** Prints how one part went: exit code, duration, outputs, env, checks. */
export function printEntry(entry: DemoEntry): void {
  const { call } = entry;
  const failed = entry.checks.filter((c) => c.problem !== null);
  const mark = failed.length === 0 ? '✔' : '✘';
  say(`  ${mark} ${call.command}  exit ${String(call.exitCode ?? call.signal)}  ${seconds(call.durationMs)}`);
  if (isStep(call)) {
    const { outputs, env, path } = call.fileCommands;
    if (Object.keys(outputs).length) say(`    outputs: ${JSON.stringify(outputs)}`);
    if (Object.keys(env).length) say(`    GITHUB_ENV: ${JSON.stringify(env)}`);
    if (path.length) say(`    GITHUB_PATH: ${JSON.stringify(path)}`);
  }
  for (const problem of call.responseProblems) say(`    response problem: ${problem}`);
  for (const c of entry.checks) say(`    ${c.problem === null ? '✔' : '✘'} ${c.what}${c.problem === null ? '' : ` — ${c.problem}`}`);
}

/** Prints the closing table and returns whether everything passed. */
export function printSummary(entries: readonly DemoEntry[]): boolean {
  heading('Summary');
  let allOk = true;
  for (const entry of entries) {
    const ok = entry.checks.every((c) => c.problem === null);
    allOk &&= ok;
    say(`  ${ok ? '✔' : '✘'} ${seconds(entry.call.durationMs).padStart(8)}  ${entry.title}`);
  }
  const total = entries.reduce((sum, e) => sum + e.call.durationMs, 0);
  say(`  ${' '.repeat(2)}${seconds(total).padStart(8)}  total time in the hook (${entries.length} calls)`);
  return allOk;
}
