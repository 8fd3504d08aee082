import { renderSettingsTable } from '@zfs-runner-hooks/vocabulary';
import { runnerSettingsSchema } from './runner-settings.js';
import { workflowSettingsSchema } from './workflow-settings.js';

/**
 * The configuration reference (markdown) generated from the settings schemas. Committed as
 * `docs/configuration.md` by `packages/zfs-clone/scripts/gen-config-docs`.
 */
export function renderConfigurationReference(): string {
  return `<!-- Generated from packages/zfs-clone/src/config/*-settings.ts by packages/zfs-clone/scripts/gen-config-docs. Do not edit. -->
# ZFS clone cache configuration

A job gets a clone when its workflow sets \`ZFS_CLONE_SOURCE\` in \`container.env\` or the runner sets
\`ZFS_CLONE_DEFAULT_SOURCE\`. An empty value counts as unset. Invalid settings fail \`prepare_job\`
before any object is created, with every problem listed.

## Per workflow (\`jobs.<id>.container.env\`)

\`\`\`yaml
container:
  image: ghcr.io/example/conan-gcc12:1
  env:
    ZFS_CLONE_SOURCE: gcc12-main          # the cache "gcc12-main"
    ZFS_CLONE_PROMOTE: \${{ github.ref == 'refs/heads/main' }}
    ZFS_CLONE_KEEP_ON_FAILURE: 24h
\`\`\`

${renderSettingsTable(workflowSettingsSchema)}

## Per runner (runner pod environment: defaults and limits)

A workflow cannot override these. Promotion also needs the job's \`GITHUB_EVENT_NAME\`, \`GITHUB_REF\`
and \`GITHUB_REPOSITORY\` (from the hook's own environment, which a workflow cannot change) to match
the promote limits, and the cache to be bound to the repository: by \`ZFS_CLONE_CACHE_REPOSITORIES\`
or by the repositories its head records (\`zfs-clone seed <cache> --repository owner/name\`). A cache
bound by neither is never promoted by a job. cleanup_job checks all of it again from the hook's own
environment before it takes a snapshot or moves a head. Glob lists are comma-separated; \`*\` matches anything, \`?\` one character.
Durations: \`90s\`, \`30m\`, \`24h\`, \`7d\`, \`1h30m\`.
Booleans: \`true\` or \`false\` (also \`1\`/\`yes\`/\`on\` and \`0\`/\`no\`/\`off\`, in any case), as in the hook's settings.

${renderSettingsTable(runnerSettingsSchema)}
`;
}
