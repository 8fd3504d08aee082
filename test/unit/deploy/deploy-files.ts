import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoPath } from './repo.js';

/** A Kubernetes object as written in a manifest. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

/** One YAML document of a file under `deploy/`. */
export interface ManifestDoc {
  /** Repository-relative path, e.g. `deploy/storage/zfs-cache-storageclass.yaml`. */
  readonly file: string;
  /** Index of the document in its file. */
  readonly index: number;
  readonly object: Manifest;
}

/** Files under `deploy/` that are not Kubernetes manifests: chart values and workflows. */
const NOT_MANIFESTS = [/^deploy\/helm\//, /\.yml$/];

function listYamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listYamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

/** Parses a YAML file strictly (any syntax error or duplicate key throws, naming the file). */
export function readYamlDocs(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(repoPath(file), 'utf8'), { uniqueKeys: true });
  return docs.map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${file} document ${i}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as unknown;
  });
}

/** Reads one YAML file with a single document. */
export function readYaml(file: string): unknown {
  const [doc, ...rest] = readYamlDocs(file);
  if (rest.length > 0) throw new Error(`${file}: expected one YAML document, found ${rest.length + 1}`);
  return doc;
}

/** Every Kubernetes manifest document under `deploy/` (not the Helm values, not workflows). */
export function deployManifests(): ManifestDoc[] {
  return listYamlFiles(repoPath('deploy'))
    .map((path) => relative(repoPath(), path).split('\\').join('/'))
    .filter((file) => !NOT_MANIFESTS.some((pattern) => pattern.test(file)))
    .sort()
    .flatMap((file) =>
      readYamlDocs(file)
        .filter((doc) => doc !== null && doc !== undefined)
        .map((doc, index) => {
          const object = doc as Manifest;
          if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || !object.metadata?.name) {
            throw new Error(`${file} document ${index}: not a Kubernetes object (apiVersion, kind, metadata.name)`);
          }
          return { file, index, object };
        }),
    );
}
