import { readFileSync } from 'node:fs';
import { DockerfileParser, type Copy, type From, type Instruction } from 'dockerfile-ast';

/** One build stage of a Dockerfile: its FROM and the instructions up to the next FROM. */
export interface Stage {
  readonly from: From;
  /** `AS <name>`, or `null`. */
  readonly name: string | null;
  readonly instructions: readonly Instruction[];
}

/** A COPY instruction reduced to what the checks need. */
export interface CopySpec {
  /** The `--from=<stage>` value, or `null` for the build context. */
  readonly from: string | null;
  readonly sources: readonly string[];
  readonly destination: string;
}

/** Parses a Dockerfile into its stages, in order. */
export function readStages(file: string): Stage[] {
  const dockerfile = DockerfileParser.parse(readFileSync(file, 'utf8'));
  const stages: { from: From; name: string | null; instructions: Instruction[] }[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const from = instruction as From;
      stages.push({ from, name: from.getBuildStage(), instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** The instructions of `stage` with keyword `keyword` (upper case). */
export function instructionsOf(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.getKeyword() === keyword);
}

/** The COPY instructions of `stage`, with their `--from` flag, sources and destination. */
export function copiesOf(stage: Stage): CopySpec[] {
  return instructionsOf(stage, 'COPY').map((instruction) => {
    const copy = instruction as Copy;
    const positional = copy
      .getArguments()
      .map((a) => a.getValue())
      .filter((a) => !a.startsWith('--'));
    return {
      from: copy.getFromFlag()?.getValue() ?? null,
      sources: positional.slice(0, -1),
      destination: positional.at(-1) ?? '',
    };
  });
}

/** The working directory `stage` ends with (its last WORKDIR), or `/`. */
export function workdirOf(stage: Stage): string {
  const workdirs = instructionsOf(stage, 'WORKDIR');
  return workdirs.at(-1)?.getArgumentsContent() ?? '/';
}
