/**
 * A simulated EKS worker node built from real parts, for testing `eks-node-diag collect`:
 * - a network namespace of its own (loopback only) holding real iptables rules, loaded with `iptables-restore -c`
 *   (and optionally legacy-backend rules beside them, for a mixed-backend node);
 * - inside it, ipamd's introspection server on 127.0.0.1:61679 (or a unix socket) and metrics on :61678, served by
 *   `ipamd-server.ts` from the scenario's data, optionally hanging or absent;
 * - a `--root` tree in a temp dir with configs, units, CNI logs and checkpoint, container logs, /proc and cgroup
 *   files, and real journal files in `<root>/var/log/journal/<machine-id>/` written by systemd-journal-remote.
 *
 * `world.exec([...])` runs a program inside the namespace, e.g.
 * `world.exec(['node', cli, 'collect', '--root', world.root, '--out', file])`. `dispose()` kills what runs in the
 * namespace, deletes it and the temp dir; worlds still alive when the process exits are disposed then too.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ipamdEnvSettings, networkutilsEnvSettings } from '../../samples/lib/vpc-cni.ts';
import { ip6tablesRules, iptablesRules, legacyIptablesRules } from './content/iptables.ts';
import { journalEntries, writeJournal } from './content/journal.ts';
import { awsNodeScopePath, rootTree } from './content/root-files.ts';
import { buildStory, type NodeStory } from './content/story.ts';
import { AVAILABLE_COMMANDS, eniConfigName, enisResponse, metricsText } from './content/vpc-cni.ts';
import type { CannedResponse, EndpointMode, ServerConfig } from './ipamd-server.ts';
import {
  collectOutput,
  createNamespace,
  destroyNamespaceSync,
  type ExecOptions,
  type ExecResult,
  killGroup,
  runChecked,
  spawnInNamespace,
} from './namespace.ts';
import { checkSimulationPrerequisites, findJournalRemote } from './prerequisites.ts';
import { type ExpectedVerdicts, type NodeScenario, type ScenarioName, scenarioByName } from './scenarios.ts';

export type { ExecOptions, ExecResult } from './namespace.ts';

export const INTROSPECTION_PORT = 61679;
export const METRICS_PORT = 61678;

export interface NodeWorldOptions {
  /** How ipamd's introspection endpoint behaves: served on TCP (default) or a unix socket, hanging, or absent. */
  introspection?: EndpointMode | 'unix';
  /** How the metrics endpoint behaves (default `serve`). */
  metrics?: EndpointMode;
  /** Load legacy-backend rules too (overrides the scenario). */
  legacyIptables?: boolean;
  /** The instant the node's timeline ends at (default: now). */
  now?: Date;
  /** Extra or replacement files under the root, e.g. planted secrets: path relative to the root → content. */
  files?: Record<string, string | Buffer>;
  /** How long to wait for the servers to come up (default 20 s). */
  startTimeoutMs?: number;
}

export interface EndpointInfo {
  mode: EndpointMode;
  /** INTROSPECTION_BIND_ADDRESS form: `127.0.0.1:61679` or `unix:/abs/path`; absent when refused. */
  bindAddress?: string;
  /** `http://127.0.0.1:61679` for TCP endpoints. */
  url?: string;
  socketPath?: string;
}

export interface RequestRecord {
  at: string;
  server: 'introspection' | 'metrics';
  method?: string;
  url?: string;
}

export interface NodeWorld {
  readonly scenario: NodeScenario;
  readonly expected: ExpectedVerdicts;
  /** The timeline every file of the world was rendered from (pods, ENIs, restarts, failures). */
  readonly story: NodeStory;
  readonly now: Date;
  /** Network namespace name (`eksdiag-<hex>`). */
  readonly namespace: string;
  /** Temp dir holding the root and the harness's own files. */
  readonly dir: string;
  /** The node's file tree, for `collect --root`. */
  readonly root: string;
  /** `<root>/var/log/journal` (for `journalctl --directory`). */
  readonly journalDirectory: string;
  /** The journal export text the journal files were built from (outside the root). */
  readonly journalExportFile: string;
  /** aws-node's container cgroup, relative to `<root>/sys/fs/cgroup`. */
  readonly awsNodeCgroup: string;
  readonly legacyIptables: boolean;
  readonly introspection: EndpointInfo;
  readonly metrics: EndpointInfo;
  /** Runs a program inside the namespace; `node` means this Node binary. */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Starts a program inside the namespace and returns it (its own process group), e.g. to signal it mid-run. */
  spawn(argv: readonly string[], options?: ExecOptions): ChildProcess;
  /** Requests the introspection and metrics servers received from anything but their own readiness check. */
  requests(): RequestRecord[];
  dispose(): Promise<void>;
}

const SERVER_SCRIPT = join(import.meta.dirname, 'ipamd-server.ts');

/** Worlds not yet disposed, cleaned up synchronously if the process exits first. */
const live = new Map<string, () => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const cleanup of [...live.values()]) cleanup();
  });
}

function json(body: unknown, status = 200): CannedResponse {
  // Go's ServeMux leaves the type to content sniffing, which calls JSON plain text.
  return { status, contentType: 'text/plain; charset=utf-8', body: JSON.stringify(body) };
}

function serverConfig(
  scenario: NodeScenario,
  story: NodeStory,
  introspection: NodeWorldOptions['introspection'],
  metrics: EndpointMode,
  socketPath: string,
  requestLog: string,
): ServerConfig {
  return {
    introspection: {
      mode: introspection === 'unix' ? 'serve' : (introspection ?? 'serve'),
      listen: introspection === 'unix' ? { socketPath } : { host: '127.0.0.1', port: INTROSPECTION_PORT },
    },
    // ipamd binds ":61678" (all interfaces); in a loopback-only namespace 127.0.0.1 is the same thing, stated plainly.
    metrics: { mode: metrics, listen: { host: '127.0.0.1', port: METRICS_PORT } },
    routes: {
      '/v1/enis': json(enisResponse(scenario, story)),
      '/v1/eni-configs': { status: 200, contentType: 'text/plain; charset=utf-8', body: eniConfigName() },
      '/v1/networkutils-env-settings': json(networkutilsEnvSettings()),
      '/v1/ipamd-env-settings': json(ipamdEnvSettings(scenario.ipam.warmEniTarget)),
    },
    fallback: json(AVAILABLE_COMMANDS),
    metricsBody: metricsText(scenario, story),
    requestLog,
  };
}

async function writeRoot(root: string, scenario: NodeScenario, story: NodeStory, extra: NodeWorldOptions['files']) {
  const tree = rootTree(scenario, story);
  const files = new Map(tree.files.map((file) => [file.path, file]));
  for (const [path, content] of Object.entries(extra ?? {})) {
    files.set(path.replace(/^\/+/, ''), { path: path.replace(/^\/+/, ''), content });
  }
  for (const file of files.values()) {
    const target = join(root, file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.content);
    if (file.mtimeMs !== undefined) await utimes(target, file.mtimeMs / 1000, file.mtimeMs / 1000);
  }
  for (const link of tree.links) {
    const target = join(root, link.path);
    await mkdir(dirname(target), { recursive: true });
    await symlink(link.target, target);
  }
}

async function loadIptables(namespace: string, scenario: NodeScenario, story: NodeStory, legacy: boolean) {
  await runChecked(['ip', 'netns', 'exec', namespace, 'iptables-restore', '-c'], {
    input: iptablesRules(scenario, story),
  });
  await runChecked(['ip', 'netns', 'exec', namespace, 'ip6tables-restore', '-c'], { input: ip6tablesRules() });
  if (legacy) {
    await runChecked(['ip', 'netns', 'exec', namespace, 'iptables-legacy-restore'], { input: legacyIptablesRules() });
  }
}

/** Starts the servers inside the namespace and waits for their READY line (or their death). */
async function startServers(namespace: string, configFile: string, timeoutMs: number) {
  const child = spawnInNamespace(namespace, ['node', SERVER_SCRIPT, configFile]);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<never>((_, reject) => {
    child.on('exit', (code, signal) =>
      reject(new Error(`ipamd-server exited (${code ?? signal}) before it was ready: ${stderr.trim()}`)),
    );
    child.on('error', (error) => reject(new Error(`cannot start ipamd-server: ${error.message}`)));
  });
  const ready = (async () => {
    const deadline = Date.now() + timeoutMs;
    while (!stdout.includes('READY ')) {
      if (Date.now() > deadline) {
        throw new Error(`ipamd-server was not ready within ${timeoutMs} ms: ${stderr.trim() || 'no output'}`);
      }
      await delay(20);
    }
  })();
  try {
    await Promise.race([ready, exited]);
  } catch (error) {
    killGroup(child);
    throw error;
  }
  exited.catch(() => {});
  return child;
}

export async function createNodeWorld(
  scenarioOrName: NodeScenario | ScenarioName,
  options: NodeWorldOptions = {},
): Promise<NodeWorld> {
  const scenario = typeof scenarioOrName === 'string' ? scenarioByName(scenarioOrName) : scenarioOrName;
  const missing = checkSimulationPrerequisites().filter((check) => !check.ok);
  if (missing.length > 0) {
    throw new Error(
      `cannot build a simulated node: ${missing.map((check) => `${check.name} (${check.detail}; fix: ${check.fix})`).join('; ')}`,
    );
  }
  const journalRemote = findJournalRemote() as string;
  const now = options.now ?? new Date();
  const story = buildStory(scenario, now.getTime());
  const id = randomBytes(4).toString('hex');
  const namespace = `eksdiag-${id}`;
  const dir = await mkdtemp(join(tmpdir(), `eksdiag-world-${id}-`));
  const root = join(dir, 'root');
  const journalDirectory = join(root, 'var/log/journal');
  const journalExportFile = join(dir, 'journal.export');
  const requestLog = join(dir, 'requests.jsonl');
  const socketPath = join(root, 'var/run/aws-node/introspection.sock');
  const legacyIptables = options.legacyIptables ?? scenario.iptables.legacyRules;
  const metricsMode = options.metrics ?? 'serve';
  const introspectionMode: EndpointMode =
    options.introspection === 'unix' ? 'serve' : (options.introspection ?? 'serve');
  let server: ChildProcess | undefined;
  let serverGone: Promise<void> = Promise.resolve();

  let disposed = false;
  // Programs this world started; killed by process group at dispose, even one that has not entered the namespace yet.
  const children = new Set<ChildProcess>();
  const track = (child: ChildProcess) => {
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  };
  const cleanupSync = () => {
    if (disposed) return;
    disposed = true;
    live.delete(namespace);
    if (server) killGroup(server);
    for (const child of children) killGroup(child);
    destroyNamespaceSync(namespace);
    rmSync(dir, { recursive: true, force: true });
  };
  installExitHook();
  live.set(namespace, cleanupSync);

  try {
    // allSettled, not all: cleanup must not start while the other half is still creating things.
    const built = await Promise.allSettled([
      (async () => {
        await createNamespace(namespace);
        await loadIptables(namespace, scenario, story, legacyIptables);
      })(),
      (async () => {
        await writeRoot(root, scenario, story, options.files);
        await writeJournal(
          journalRemote,
          journalEntries(scenario, story),
          journalExportFile,
          join(journalDirectory, scenario.node.machineId, 'system.journal'),
        );
      })(),
    ]);
    for (const outcome of built) if (outcome.status === 'rejected') throw outcome.reason;
    await writeFile(requestLog, '');
    const configFile = join(dir, 'ipamd-server.json');
    await writeFile(
      configFile,
      JSON.stringify(serverConfig(scenario, story, options.introspection, metricsMode, socketPath, requestLog)),
    );
    if (introspectionMode !== 'refuse' || metricsMode !== 'refuse') {
      server = await startServers(namespace, configFile, options.startTimeoutMs ?? 20_000);
      const started = server;
      serverGone = new Promise((resolve) => {
        if (started.exitCode !== null || started.signalCode !== null) resolve();
        else started.once('exit', () => resolve());
      });
    }
  } catch (error) {
    cleanupSync();
    throw new Error(
      `simulated node ${namespace} (${scenario.name}) could not be built, so its namespace and ${dir} were removed: ${(error as Error).message}`,
      { cause: error },
    );
  }

  const introspection: EndpointInfo =
    introspectionMode === 'refuse'
      ? { mode: 'refuse' }
      : options.introspection === 'unix'
        ? { mode: 'serve', bindAddress: `unix:${socketPath}`, socketPath }
        : {
            mode: introspectionMode,
            bindAddress: `127.0.0.1:${INTROSPECTION_PORT}`,
            url: `http://127.0.0.1:${INTROSPECTION_PORT}`,
          };
  const metrics: EndpointInfo =
    metricsMode === 'refuse'
      ? { mode: 'refuse' }
      : { mode: metricsMode, bindAddress: `:${METRICS_PORT}`, url: `http://127.0.0.1:${METRICS_PORT}` };

  return {
    scenario,
    expected: scenario.expected,
    story,
    now,
    namespace,
    dir,
    root,
    journalDirectory,
    journalExportFile,
    awsNodeCgroup: awsNodeScopePath(story),
    legacyIptables,
    introspection,
    metrics,
    exec: (argv, execOptions = {}) => {
      if (disposed) return Promise.reject(new Error(`world ${namespace} is disposed`));
      return collectOutput(track(spawnInNamespace(namespace, argv, execOptions)), argv, execOptions);
    },
    spawn: (argv, execOptions) => {
      if (disposed) throw new Error(`world ${namespace} is disposed`);
      return track(spawnInNamespace(namespace, argv, execOptions));
    },
    requests: () => {
      if (!existsSync(requestLog)) return [];
      return readFileSync(requestLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as RequestRecord);
    },
    dispose: async () => {
      cleanupSync();
      // Reap the killed server, so its pid is really gone (not a zombie) when dispose resolves.
      await Promise.race([serverGone, delay(5000)]);
    },
  };
}
