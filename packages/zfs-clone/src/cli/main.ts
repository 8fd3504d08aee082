#!/usr/bin/env node
import { createKubeClient, loadKubeConfig } from '@zfs-runner-hooks/kube';
import { runCli } from './run.js';

runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  connect: async ({ kubeconfig, context }) =>
    createKubeClient(await loadKubeConfig({ ...(kubeconfig !== undefined && { kubeconfig }), ...(context !== undefined && { context }) })),
}).then((code) => {
  process.exitCode = code;
});
