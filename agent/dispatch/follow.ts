/**
 * Following a command to its end with as few API calls as a large fleet allows: each round asks ListCommands for the
 * command's counters (one call) and lists the invocations (50 per page, with their output) only when more of them
 * finished, when the command ended, or now and then to refresh the live counts; listings of a large fleet are spaced
 * in proportion to their pages. Quiet rounds back off; a round that
 * fails even after the SDK's own retries is logged and retried later, so a burst of throttling only slows it down.
 */
import { ListCommandsCommand, paginateListCommandInvocations, type SSMClient } from '@aws-sdk/client-ssm';
import { awsErrorText } from './clients.ts';
import { type InvocationView, isTerminal } from './outcome.ts';

export interface FollowOptions {
  ssm: SSMClient;
  commandId: string;
  pollIntervalMs: number;
  /** Longest pause between rounds (default 30 s, or the poll interval when that is longer). */
  maxIntervalMs?: number;
  /** List invocations at least this often even when nothing finished, for the live counts (default 15 s). */
  refreshMs?: number;
  /** Stop following at this time (ms since the epoch). */
  deadline: number;
  signal?: AbortSignal;
  /** Called after each listing with every invocation seen so far. */
  onUpdate?: (views: ReadonlyMap<string, InvocationView>) => void;
  /** Called once per invocation, when it reaches a terminal status. */
  onFinished: (view: InvocationView) => void;
  onWarning?: (line: string) => void;
  /** Rounds in a row that may fail before following gives up (default 10). */
  maxFailedRounds?: number;
}

export interface FollowResult {
  views: Map<string, InvocationView>;
  commandStatus: string;
  targetCount: number;
  /** The deadline passed (or the signal fired) before the command ended. */
  incomplete: boolean;
}

const COMMAND_DONE = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled']);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export async function listInvocations(ssm: SSMClient, commandId: string): Promise<InvocationView[]> {
  const views: InvocationView[] = [];
  for await (const page of paginateListCommandInvocations(
    { client: ssm, pageSize: 50 },
    { CommandId: commandId, Details: true },
  )) {
    for (const invocation of page.CommandInvocations ?? []) {
      if (!invocation.InstanceId) continue;
      const plugin = invocation.CommandPlugins?.[0];
      views.push({
        instanceId: invocation.InstanceId,
        status: invocation.Status ?? 'Pending',
        statusDetails: invocation.StatusDetails ?? invocation.Status ?? 'Pending',
        ...(plugin?.ResponseCode !== undefined ? { responseCode: plugin.ResponseCode } : {}),
        ...(plugin?.Output !== undefined ? { output: plugin.Output } : {}),
        ...(plugin?.ResponseStartDateTime ? { startedAt: plugin.ResponseStartDateTime } : {}),
        ...(plugin?.ResponseFinishDateTime ? { finishedAt: plugin.ResponseFinishDateTime } : {}),
        ...(invocation.RequestedDateTime ? { requestedAt: invocation.RequestedDateTime } : {}),
      });
    }
  }
  return views;
}

export async function followCommand(options: FollowOptions): Promise<FollowResult> {
  const { ssm, commandId } = options;
  const base = options.pollIntervalMs;
  const max = Math.max(options.maxIntervalMs ?? 30_000, base);
  const refreshMs = options.refreshMs ?? Math.max(15_000, base * 4);
  const views = new Map<string, InvocationView>();
  const reported = new Set<string>();
  let interval = base;
  let lastCompleted = -1;
  let listedCompleted = -1;
  let lastListing = 0;
  let pages = 1;
  let failedRounds = 0;
  let commandStatus = 'Pending';
  let targetCount = 0;

  for (;;) {
    let changed = false;
    let pause: number | undefined;
    try {
      const listed = await ssm.send(new ListCommandsCommand({ CommandId: commandId }));
      const command = listed.Commands?.[0];
      commandStatus = command?.Status ?? commandStatus;
      targetCount = command?.TargetCount ?? targetCount;
      const completed = command?.CompletedCount ?? 0;
      const done = COMMAND_DONE.has(commandStatus);
      if (completed !== lastCompleted) changed = true;
      lastCompleted = completed;
      // A big fleet's listing costs a call per 50 nodes: space them out (1,000 nodes: twice the poll interval).
      const gap = Math.max(base, (pages * base) / 10);
      const since = Date.now() - lastListing;
      const due = completed !== listedCompleted || since >= refreshMs;
      if (done || (due && since >= gap)) {
        const listing = await listInvocations(ssm, commandId);
        pages = Math.max(1, Math.ceil(listing.length / 50));
        for (const view of listing) {
          const before = views.get(view.instanceId);
          if (!before || before.status !== view.status) changed = true;
          views.set(view.instanceId, view);
          if (isTerminal(view) && !reported.has(view.instanceId)) {
            reported.add(view.instanceId);
            options.onFinished(view);
          }
        }
        lastListing = Date.now();
        listedCompleted = completed;
        options.onUpdate?.(views);
      } else if (due) {
        pause = gap - since;
      }
      failedRounds = 0;
      if (done && views.size >= targetCount && [...views.values()].every(isTerminal))
        return { views, commandStatus, targetCount, incomplete: false };
    } catch (error) {
      failedRounds++;
      options.onWarning?.(`following ${commandId}: ${awsErrorText(error)} (will retry)`);
      if (failedRounds >= (options.maxFailedRounds ?? 10)) throw error;
      interval = Math.min(interval * 2, max);
    }
    if (Date.now() >= options.deadline || options.signal?.aborted)
      return { views, commandStatus, targetCount, incomplete: true };
    // Nodes finishing keep the pace up; a quiet command is asked less and less often.
    interval = changed ? base : Math.min(Math.ceil(interval * 1.5), max);
    await sleep(Math.min(pause ?? interval, interval, Math.max(0, options.deadline - Date.now())), options.signal);
  }
}
