/**
 * A small JavaScript action, laid out the way the runner downloads actions into
 * `_work/_actions/<owner>/<name>/<ref>/`. It needs nothing but Node: it reads its input the way
 * `@actions/core` does (`INPUT_WHO-TO-GREET`: upper-cased, hyphen kept, so not a shell-identifier
 * name), prints a line, and appends outputs to the file named by `GITHUB_OUTPUT`.
 */

/** Where the sample action lives under `_actions`. */
export interface ActionRef {
  readonly owner: string;
  readonly name: string;
  readonly ref: string;
}

/** The default sample action: `zrh-test/greet@v1`. */
export const SAMPLE_ACTION: ActionRef = { owner: 'zrh-test', name: 'greet', ref: 'v1' };

/** `action.yml` of the sample action. */
export const SAMPLE_ACTION_YML = `name: greet
description: Greets someone and reports what it saw.
inputs:
  who-to-greet:
    description: Who to greet
    default: World
outputs:
  greeting:
    description: The greeting
  node-version:
    description: The Node version that ran the action
runs:
  using: node20
  main: dist/index.js
`;

/** `dist/index.js` of the sample action (CommonJS, no dependencies). */
export const SAMPLE_ACTION_JS = `'use strict';
const fs = require('node:fs');
const os = require('node:os');
const who = process.env['INPUT_WHO-TO-GREET'] || 'World';
const greeting = 'Hello, ' + who + '!';
console.log(greeting);
const out = process.env.GITHUB_OUTPUT;
if (!out) {
  console.log('::error::GITHUB_OUTPUT is not set');
  process.exit(1);
}
fs.appendFileSync(out, 'greeting=' + greeting + os.EOL + 'node-version=' + process.version + os.EOL);
`;
