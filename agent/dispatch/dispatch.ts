/**
 * `eks-node-diag dispatch`: collect bundles from one node or a whole cluster through AWS Systems Manager.
 *
 *   1. the agent binaries go to S3 under their sha256 (once per build);
 *   2. ONE SendCommand reaches the target set (instance ids, or tags), running the node script through the project's
 *      SSM document or inline through AWS-RunShellScript, with presigned GET URLs for both architectures and their
 *      sha256, and a presigned GET URL of the upload form;
 *   3. the upload form, a presigned POST policy limited to `<prefix>/<command-id>/`, is published as soon as SSM has
 *      named the command (the nodes fetch it after the agent, so it is there long before they need it);
 *   4. the command is followed to its end (ListCommands/ListCommandInvocations), each node's outcome classified as it
 *      finishes and its bundle downloaded to --out;
 *   5. with --analyze, each bundle is analyzed and a fleet index written; a per-node table ends the run.
 *
 * Engineer-side only: nothing here runs on a node or imports collector code.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { CancelCommandCommand, GetCommandInvocationCommand, type SendCommandCommandInput } from '@aws-sdk/client-ssm';
import { TOOL_VERSION } from '../../analyzer/engine/version.ts';
import { formatBytes } from '../../analyzer/report/text.ts';
import {
  type Architecture,
  bundleKey,
  createUploadForm,
  ensureAgentStored,
  findAgentBinaries,
  presignGet,
  publishForm,
  type StoredAgent,
} from './artifacts.ts';
import { ApiCallCounter, awsErrorText, createClients, type DispatchClients, destroyClients } from './clients.ts';
import { outcomeTable, ProgressDisplay, statusCounts } from './display.ts';
import {
  commandComment,
  documentParameters,
  inlineScript,
  type NodeScriptValues,
  RUN_SHELL_SCRIPT,
} from './document.ts';
import { followCommand } from './follow.ts';
import { type DispatchOptions, describeTarget, type RawDispatchOptions, validateDispatchOptions } from './options.ts';
import {
  classifyInvocation,
  type InvocationView,
  isTerminal,
  type NodeOutcome,
  type NodeStatus,
  parseResultLine,
} from './outcome.ts';
import {
  checkDocument,
  describeSendFailure,
  installDocument,
  type SentCommand,
  sendToInstances,
  sendToTags,
} from './send.ts';

export const DISPATCH_SCHEMA = 'eks-node-diag/dispatch@1';

export interface DispatchIo {
  /** stdout: the closing table and summary. */
  out: (text: string) => void;
  /** stderr: progress. */
  err: (text: string) => void;
  /** Whether stderr is a terminal (live display). */
  errIsTTY: boolean;
  /** Aborted on the first Ctrl-C: the command is cancelled and followed to its end. */
  cancel?: AbortSignal;
}

export interface DispatchResult {
  commandId?: string;
  documentName: string;
  outcomes: NodeOutcome[];
  out: string;
  fleetIndex?: string;
  /** Nodes whose status is not `ok`. */
  failed: number;
  apiCalls: Record<string, number>;
}

export class DispatchError extends Error {
  readonly code = 'ENDIAG_DISPATCH';
}

/** Seconds SSM may wait to deliver the command: enough for the queue MaxConcurrency makes, at most 48 h. */
export function deliveryTimeoutSeconds(options: DispatchOptions): number {
  const perNode = Math.ceil(options.timeoutMs / 1000);
  const { maxConcurrency } = options;
  let batches: number;
  if (maxConcurrency.endsWith('%')) batches = Math.ceil(100 / Number(maxConcurrency.slice(0, -1)));
  else if (options.target.kind === 'instances')
    batches = Math.ceil(options.target.instanceIds.length / Number(maxConcurrency));
  else batches = 12;
  return Math.min(172_800, Math.max(600, batches * perNode + 600));
}

/** The agent's own --deadline: half the time the node may run, at most 5 minutes (the agent's default). */
export function collectDeadline(timeoutMs: number): string {
  return `${Math.max(30, Math.min(300, Math.floor(timeoutMs / 2000)))}s`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `work` for each item with at most `limit` at once, as items arrive. */
class WorkQueue {
  readonly #limit: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  readonly #all: Promise<void>[] = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(work: () => Promise<void>): void {
    const run = async () => {
      if (this.#active >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
      this.#active++;
      try {
        await work();
      } finally {
        this.#active--;
        this.#waiting.shift()?.();
      }
    };
    this.#all.push(run());
  }

  async drain(): Promise<void> {
    for (let seen = 0; seen !== this.#all.length; ) {
      seen = this.#all.length;
      await Promise.all(this.#all);
    }
  }
}

async function download(clients: DispatchClients, bucket: string, key: string, file: string): Promise<number> {
  const partial = `${file}.part`;
  for (let attempt = 1; ; attempt++) {
    try {
      const answer = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      await pipeline(answer.Body as Readable, createWriteStream(partial, { mode: 0o600 }));
      const { size } = await stat(partial);
      if (answer.ContentLength !== undefined && size !== answer.ContentLength)
        throw new Error(`got ${size} of ${answer.ContentLength} bytes`);
      await rename(partial, file);
      return size;
    } catch (error) {
      await rm(partial, { force: true });
      // The SDK retried the request; a body cut off mid-stream is retried here.
      const name = (error as { name?: string }).name;
      if (attempt >= 3 || name === 'NoSuchKey' || name === 'AccessDenied') throw error;
      await sleep(1000 * attempt);
    }
  }
}

function agentValues(
  agents: StoredAgent[],
  urls: Map<Architecture, string>,
): Pick<NodeScriptValues, 'AgentUrlX64' | 'AgentSha256X64' | 'AgentUrlArm64' | 'AgentSha256Arm64'> {
  const of = (arch: Architecture) => agents.find((agent) => agent.arch === arch);
  return {
    AgentUrlX64: urls.get('x64') ?? '',
    AgentSha256X64: of('x64')?.sha256 ?? '',
    AgentUrlArm64: urls.get('arm64') ?? '',
    AgentSha256Arm64: of('arm64')?.sha256 ?? '',
  };
}

function summaryLine(outcomes: NodeOutcome[]): string {
  const counts = new Map<NodeStatus, number>();
  for (const outcome of outcomes) counts.set(outcome.status, (counts.get(outcome.status) ?? 0) + 1);
  const parts = [...counts].sort(([a], [b]) => (a === 'ok' ? -1 : b === 'ok' ? 1 : a < b ? -1 : 1));
  return `${outcomes.length} node${outcomes.length === 1 ? '' : 's'}: ${parts.map(([status, count]) => `${count} ${status}`).join(', ')}`;
}

export async function dispatch(raw: RawDispatchOptions, io: DispatchIo): Promise<DispatchResult> {
  const options = validateDispatchOptions(raw);
  const calls = new ApiCallCounter();
  const clients = await createClients({ region: options.region, profile: options.profile }, calls);
  const display = new ProgressDisplay({ write: io.err, isTTY: io.errIsTTY });
  try {
    return await run(options, clients, display, io);
  } finally {
    display.close();
    destroyClients(clients);
  }
}

async function run(
  options: DispatchOptions,
  clients: DispatchClients,
  display: ProgressDisplay,
  io: DispatchIo,
): Promise<DispatchResult> {
  const { bucket, prefix } = options;
  const say = (line: string) => display.line(line);
  await mkdir(options.out, { recursive: true });
  say(`eks-node-diag ${TOOL_VERSION} dispatch to ${describeTarget(options.target)} in ${clients.region}`);

  // 1. The agents, keyed by sha256.
  const binaries = await findAgentBinaries(options.agentDir);
  const agents: StoredAgent[] = [];
  for (const binary of binaries) {
    try {
      const stored = await ensureAgentStored(clients.s3, bucket, prefix, binary);
      agents.push(stored);
      say(
        `agent ${stored.arch} ${stored.sha256.slice(0, 12)}: ${stored.uploaded ? `uploaded (${formatBytes(stored.bytes)})` : 'already in S3'} s3://${bucket}/${stored.key}`,
      );
    } catch (error) {
      throw new DispatchError(
        `cannot put the ${binary.arch} agent in s3://${bucket}/${prefix}/agents/: ${awsErrorText(error)}`,
      );
    }
  }
  const missing = (['x64', 'arm64'] as const).filter((arch) => !agents.some((agent) => agent.arch === arch));
  for (const arch of missing)
    say(`note: no ${arch} agent in ${options.agentDir}: ${arch} nodes will report agent-unsupported`);

  // 2. The document.
  let documentName = RUN_SHELL_SCRIPT;
  let documentVersion: string | undefined;
  if (options.documentName) {
    try {
      if (options.installDocument) {
        const installed = await installDocument(clients.ssm, options.documentName);
        say(`SSM document ${installed.name}: ${installed.action} (version ${installed.version})`);
        documentVersion = installed.version;
      } else {
        documentVersion = await checkDocument(clients.ssm, options.documentName);
      }
    } catch (error) {
      if ((error as { code?: string }).code === 'ENDIAG_DISPATCH') throw error;
      throw new DispatchError(`cannot prepare SSM document ${options.documentName}: ${awsErrorText(error)}`);
    }
    documentName = options.documentName;
  }

  // 3. Presigned URLs, valid for as long as the command may take.
  const deliverySeconds = deliveryTimeoutSeconds(options);
  const timeoutSeconds = Math.ceil(options.timeoutMs / 1000);
  const expiresIn = deliverySeconds + timeoutSeconds + 3600;
  const formKey = `${prefix}/forms/${crypto.randomUUID()}.json`;
  const urls = new Map<Architecture, string>();
  for (const agent of agents) urls.set(agent.arch, await presignGet(clients.presigner, bucket, agent.key, expiresIn));
  const values: NodeScriptValues = {
    ...agentValues(agents, urls),
    UploadFormUrl: await presignGet(clients.presigner, bucket, formKey, expiresIn),
    Since: options.since,
    Deadline: collectDeadline(options.timeoutMs),
    KeepOnNode: options.keepOnNode ? 'true' : 'false',
    executionTimeout: String(timeoutSeconds),
  };
  const base: Omit<SendCommandCommandInput, 'InstanceIds' | 'Targets'> = {
    DocumentName: documentName,
    ...(documentVersion ? { DocumentVersion: documentVersion } : {}),
    Parameters:
      documentName === RUN_SHELL_SCRIPT
        ? { commands: inlineScript(values), executionTimeout: [values.executionTimeout] }
        : documentParameters(values),
    TimeoutSeconds: deliverySeconds,
    MaxConcurrency: options.maxConcurrency,
    MaxErrors: options.maxErrors,
    Comment: commandComment(),
  };

  // 4. ONE SendCommand, and the upload form as soon as the command has its id.
  const publish = async (commandId: string) => {
    try {
      const form = await createUploadForm(clients.presigner, bucket, prefix, commandId, expiresIn);
      await publishForm(clients.s3, bucket, formKey, form);
    } catch (error) {
      await clients.ssm.send(new CancelCommandCommand({ CommandId: commandId })).catch(() => {});
      throw new DispatchError(`cannot publish the upload form (the command was cancelled): ${awsErrorText(error)}`);
    }
  };
  const outcomes = new Map<string, NodeOutcome>();
  let sent: SentCommand | undefined;
  try {
    if (options.target.kind === 'instances') {
      const result = await sendToInstances(clients.ssm, base, options.target.instanceIds);
      if (result.commandId) await publish(result.commandId);
      for (const { instanceId, message } of result.invalid) {
        const outcome: NodeOutcome = {
          instanceId,
          status: 'invalid-instance',
          ssm: 'InvalidInstanceId',
          error: message,
        };
        outcomes.set(instanceId, outcome);
        display.finished(outcome);
      }
      if (result.commandId) sent = result;
    } else {
      sent = await sendToTags(clients.ssm, base, options.target, say, publish);
      if (sent.targetCount === 0)
        throw new DispatchError(
          `no managed node matches ${describeTarget(options.target)}: check the tag, the region, and that the nodes ` +
            'run the SSM agent with AmazonSSMManagedInstanceCore',
        );
    }
  } catch (error) {
    if (error instanceof DispatchError) throw error;
    throw new DispatchError(describeSendFailure(error));
  }

  const pending: Promise<void>[] = [];
  let fleetIndex: string | undefined;
  if (sent) {
    const commandId = sent.commandId;
    say(
      `command ${commandId} sent to ${sent.describeTargets} with ${documentName} (max concurrency ${options.maxConcurrency}, max errors ${options.maxErrors}, timeout ${timeoutSeconds}s)`,
    );
    // 5. Follow, classify, download.
    const downloads = new WorkQueue(6);
    const onFinished = (view: InvocationView) => {
      pending.push(
        (async () => {
          let result = parseResultLine(view.output);
          if (!result && view.responseCode !== -1) {
            // The line did not fit in ListCommandInvocations' 2,500 characters: GetCommandInvocation has 24,000.
            try {
              const full = await clients.ssm.send(
                new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: view.instanceId }),
              );
              result = parseResultLine(full.StandardOutputContent);
              if (!view.output && full.StandardErrorContent) view.output = full.StandardErrorContent;
            } catch (error) {
              display.line(`${view.instanceId}: GetCommandInvocation failed: ${awsErrorText(error)}`);
            }
          }
          const outcome = classifyInvocation(view, result);
          outcomes.set(view.instanceId, outcome);
          if (outcome.status !== 'ok') {
            display.finished(outcome);
            return;
          }
          // The node can only have written under this command's prefix; its own key is not trusted further.
          outcome.key = bundleKey(prefix, commandId, view.instanceId);
          await new Promise<void>((resolve) =>
            downloads.add(async () => {
              const file = join(options.out, `${view.instanceId}.tar.gz`);
              try {
                outcome.bundleBytes = await download(clients, bucket, outcome.key as string, file);
                outcome.bundle = file;
              } catch (error) {
                outcome.status = 'download-failed';
                outcome.error = `cannot download s3://${bucket}/${outcome.key}: ${awsErrorText(error)}`;
              }
              display.finished(outcome);
              resolve();
            }),
          );
        })(),
      );
    };
    let cancelled = false;
    const cancel = () => {
      if (cancelled) return;
      cancelled = true;
      say(`cancelling command ${commandId} (Ctrl-C again to stop waiting)`);
      clients.ssm.send(new CancelCommandCommand({ CommandId: commandId })).catch((error: unknown) => {
        say(`CancelCommand failed: ${awsErrorText(error)}`);
      });
    };
    io.cancel?.addEventListener('abort', cancel, { once: true });
    if (io.cancel?.aborted) cancel();
    const followed = await followCommand({
      ssm: clients.ssm,
      commandId,
      pollIntervalMs: options.pollIntervalMs,
      deadline: Date.now() + (deliverySeconds + timeoutSeconds + 300) * 1000,
      onUpdate: (views) => display.counts(statusCounts(views.values()), sent?.targetCount),
      onFinished,
      onWarning: say,
    });
    io.cancel?.removeEventListener('abort', cancel);
    await Promise.all(pending);
    await downloads.drain();
    await Promise.all(pending);

    for (const view of followed.views.values()) {
      if (outcomes.has(view.instanceId) || isTerminal(view)) continue;
      const outcome: NodeOutcome = {
        instanceId: view.instanceId,
        status: 'timed-out',
        ssm: `${view.status}/${view.statusDetails}`,
        error: `still ${view.status} when dispatch stopped following the command`,
      };
      outcomes.set(view.instanceId, outcome);
      display.finished(outcome);
    }
    for (const instanceId of sent.instanceIds ?? []) {
      if (outcomes.has(instanceId)) continue;
      const outcome: NodeOutcome = {
        instanceId,
        status: 'failed',
        ssm: 'none',
        error: 'SSM listed no invocation for this instance',
      };
      outcomes.set(instanceId, outcome);
      display.finished(outcome);
    }

    // 6. Analysis and the fleet index.
    if (options.analyze) fleetIndex = await analyzeAll([...outcomes.values()], options, say);
  }
  display.close();

  const list = [...outcomes.values()].sort((a, b) => (a.instanceId < b.instanceId ? -1 : 1));
  const failed = list.filter((outcome) => outcome.status !== 'ok').length;
  const result: DispatchResult = {
    ...(sent ? { commandId: sent.commandId } : {}),
    documentName,
    outcomes: list,
    out: options.out,
    ...(fleetIndex ? { fleetIndex } : {}),
    failed,
    apiCalls: clients.calls.toJSON(),
  };
  await writeFile(
    join(options.out, 'dispatch.json'),
    `${JSON.stringify(
      {
        schema: DISPATCH_SCHEMA,
        tool: { name: 'eks-node-diag', version: TOOL_VERSION },
        target: describeTarget(options.target),
        region: clients.region,
        bucket,
        prefix,
        ...result,
      },
      null,
      2,
    )}\n`,
  );
  io.out(outcomeTable(list));
  io.out(
    `\n${summaryLine(list)}; bundles and dispatch.json in ${options.out}${fleetIndex ? `; fleet index ${fleetIndex}` : ''}\n`,
  );
  return result;
}

async function analyzeAll(outcomes: NodeOutcome[], options: DispatchOptions, say: (line: string) => void) {
  const { analyze } = await import('../../analyzer/commands/analyze.ts');
  const { buildFleetModel, renderFleetHtml } = await import('../../analyzer/report/fleet.ts');
  type Entry = Parameters<typeof buildFleetModel>[0][number];
  const entries: Entry[] = [];
  for (const outcome of outcomes) {
    const entry: Entry = {
      instanceId: outcome.instanceId,
      status: outcome.status,
      ...(outcome.error ? { error: outcome.error } : {}),
      ...(outcome.durationMs !== undefined ? { durationMs: outcome.durationMs } : {}),
      ...(outcome.bundleBytes !== undefined ? { bundleBytes: outcome.bundleBytes } : {}),
    };
    if (outcome.bundle) {
      entry.bundleHref = `${outcome.instanceId}.tar.gz`;
      const html = join(options.out, `${outcome.instanceId}.report.html`);
      const analyzed = await analyze({
        inputs: [outcome.bundle],
        html,
        json: join(options.out, `${outcome.instanceId}.report.json`),
      });
      const report = analyzed.reports[0];
      if (report) {
        entry.report = report;
        entry.reportHref = `${outcome.instanceId}.report.html`;
        outcome.report = html;
      } else {
        outcome.status = 'failed';
        outcome.error = `the bundle cannot be analyzed: ${analyzed.unreadable[0]?.reason ?? 'unreadable'}`;
        entry.status = outcome.status;
        entry.error = outcome.error;
      }
    }
    entries.push(entry);
  }
  const model = buildFleetModel(entries, { target: describeTarget(options.target) });
  const index = join(options.out, 'index.html');
  await writeFile(index, renderFleetHtml(model));
  await writeFile(join(options.out, 'fleet.json'), `${JSON.stringify(model, null, 2)}\n`);
  say(`analyzed ${entries.filter((entry) => entry.report).length} bundle(s); fleet index ${index}`);
  return index;
}
