/**
 * Builds `samples/bundles/<name>.tar.gz` for every scenario in samples/scenarios, byte-for-byte reproducibly:
 * members sorted, every mtime set to the scenario's createdAt, owner root (uid/gid 0), fixed modes (0644 files,
 * 0755 directories), no atime/ctime or host user names, gzip level 9 with zlib's fixed header (mtime 0).
 *
 * Layouts:
 * - eks-node-diag: canonical paths plus `manifest.json` (built from the files), no directory entries, as our agent
 *   streams items straight into the archive.
 * - eks-log-collector: `tar --directory=/tmp/eks-log-collector .` members: `./`, `./kubelet/`, `./kubelet/kubelet.log`.
 * - aws-cni-support-legacy: `tar -cvzf … /var/log/aws-routed-eni/` members: `var/log/aws-routed-eni/…` with their
 *   directory entries.
 *
 * Usage: npm run samples [-- <output dir>]   (default samples/bundles)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Header, Pack, ReadEntry } from 'tar';
import { MANIFEST_PATH } from '../contract/bundle.ts';
import { buildManifest, renderManifest } from '../samples/lib/manifest.ts';
import { scenarios } from '../samples/scenarios/index.ts';
import type { ScenarioDefinition } from '../samples/scenarios/types.ts';

const FILE_MODE = 0o644;
const DIRECTORY_MODE = 0o755;
const GZIP_LEVEL = 9;
const LEGACY_ROOT = 'var/log/aws-routed-eni/';

export class SampleBuildError extends Error {
  override name = 'SampleBuildError';
}

export interface ArchiveMember {
  /** Name as stored in the archive; directories end with `/`. */
  name: string;
  /** Undefined for directories. */
  content?: Buffer;
}

/** Refuses names an extractor could be tricked by, and names outside the layout's root. */
function checkPath(scenario: ScenarioDefinition, path: string): void {
  const problem =
    path === ''
      ? 'is empty'
      : path.startsWith('/')
        ? 'is absolute'
        : path.includes('\\')
          ? 'contains a backslash'
          : path.includes('\0')
            ? 'contains a NUL byte'
            : path.split('/').some((segment) => segment === '..' || segment === '.' || segment === '')
              ? 'has an empty, `.` or `..` segment'
              : scenario.layout === 'aws-cni-support-legacy' && !path.startsWith(LEGACY_ROOT)
                ? `is outside ${LEGACY_ROOT}`
                : scenario.layout !== 'aws-cni-support-legacy' && path.startsWith('var/log/')
                  ? 'looks like a legacy member in a non-legacy layout'
                  : undefined;
  if (problem) throw new SampleBuildError(`${scenario.name}: file path ${JSON.stringify(path)} ${problem}`);
}

function directoriesOf(paths: readonly string[], prefix: string): string[] {
  const directories = new Set<string>();
  for (const path of paths) {
    const segments = path.split('/');
    for (let depth = 1; depth < segments.length; depth++)
      directories.add(`${prefix}${segments.slice(0, depth).join('/')}/`);
  }
  return [...directories];
}

/** Plain code-unit order, which puts every directory (`a/`) before its contents (`a/b`). */
const byName = (a: ArchiveMember, b: ArchiveMember): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function archiveMembers(scenario: ScenarioDefinition): ArchiveMember[] {
  const paths = Object.keys(scenario.files);
  if (paths.length === 0) throw new SampleBuildError(`${scenario.name}: the scenario has no files`);
  for (const path of paths) checkPath(scenario, path);
  for (const directory of scenario.emptyDirectories ?? []) checkPath(scenario, directory);
  const file = (name: string, path: string): ArchiveMember => ({
    name,
    content: Buffer.from(scenario.files[path] as string, 'utf8'),
  });
  switch (scenario.layout) {
    case 'eks-node-diag': {
      const members = paths.map((path) => file(path, path));
      members.push({ name: MANIFEST_PATH, content: Buffer.from(renderManifest(buildManifest(scenario)), 'utf8') });
      return members.sort(byName);
    }
    case 'eks-log-collector': {
      const directories = new Set([
        ...directoriesOf(paths, './'),
        ...(scenario.emptyDirectories ?? []).map((name) => `./${name}/`),
      ]);
      const members: ArchiveMember[] = [{ name: './' }, ...[...directories].map((name) => ({ name }))];
      members.push(...paths.map((path) => file(`./${path}`, path)));
      return members.sort(byName);
    }
    case 'aws-cni-support-legacy': {
      const inside = paths.map((path) => path.slice(LEGACY_ROOT.length));
      const members: ArchiveMember[] = [
        { name: LEGACY_ROOT },
        ...directoriesOf(inside, LEGACY_ROOT).map((name) => ({ name })),
      ];
      members.push(...paths.map((path) => file(path, path)));
      return members.sort(byName);
    }
    default:
      throw new SampleBuildError(
        `${(scenario as ScenarioDefinition).name}: unknown layout ${JSON.stringify((scenario as ScenarioDefinition).layout)}`,
      );
  }
}

async function tarBytes(members: readonly ArchiveMember[], mtime: Date): Promise<Buffer> {
  const pack = new Pack({ portable: false, mtime });
  const chunks: Buffer[] = [];
  pack.on('data', (chunk: Buffer) => chunks.push(chunk));
  const finished = new Promise<void>((resolvePromise, reject) => {
    pack.on('end', () => resolvePromise());
    pack.on('error', reject);
  });
  for (const member of members) {
    const isDirectory = member.content === undefined;
    const content = member.content ?? Buffer.alloc(0);
    const header = new Header({
      path: member.name,
      type: isDirectory ? 'Directory' : 'File',
      mode: isDirectory ? DIRECTORY_MODE : FILE_MODE,
      uid: 0,
      gid: 0,
      uname: 'root',
      gname: 'root',
      size: content.length,
      mtime,
    });
    const entry = new ReadEntry(header);
    entry.end(content);
    pack.add(entry);
  }
  pack.end();
  await finished;
  return Buffer.concat(chunks);
}

/** The gzip'd tar of one scenario. */
export async function buildBundle(scenario: ScenarioDefinition): Promise<Buffer> {
  const mtime = new Date(scenario.createdAt);
  if (Number.isNaN(mtime.getTime()))
    throw new SampleBuildError(`${scenario.name}: createdAt ${JSON.stringify(scenario.createdAt)} is not a timestamp`);
  // Whole seconds: tar stores mtime in seconds, and a fraction would only be lost on the way.
  mtime.setUTCMilliseconds(0);
  const tar = await tarBytes(archiveMembers(scenario), mtime);
  return gzipSync(tar, { level: GZIP_LEVEL });
}

export async function buildAll(
  outputDirectory: string,
  selected: readonly ScenarioDefinition[] = scenarios,
): Promise<{ name: string; path: string; bytes: number }[]> {
  await mkdir(outputDirectory, { recursive: true });
  const written: { name: string; path: string; bytes: number }[] = [];
  for (const scenario of selected) {
    const bytes = await buildBundle(scenario);
    const path = join(outputDirectory, `${scenario.name}.tar.gz`);
    await writeFile(path, bytes);
    written.push({ name: scenario.name, path, bytes: bytes.length });
  }
  return written;
}

const invokedDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
  const output = resolve(process.argv[2] ?? join(repoRoot, 'samples', 'bundles'));
  const written = await buildAll(output);
  for (const bundle of written) process.stdout.write(`${bundle.path}  ${(bundle.bytes / 1024).toFixed(0)} KiB\n`);
}
