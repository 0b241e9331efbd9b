/**
 * What kubelet writes about probes, across versions, turned into one shape. Shared by the rules that judge probe
 * failures and the rules that ask whether CPU pressure coincides with them.
 *
 * Shapes recognized (kubelet journal, klog body after `] `):
 * - structured logging (1.20+), prober.go:
 *   `"Probe failed" probeType="Liveness" pod="kube-system/aws-node-7xk2p" podUID="…" containerName="aws-node" probeResult="failure" output="…"`
 *   `"Probe errored" err="…" probeType="Readiness" pod="…" podUID="…" containerName="…" probeResult="unknown"`
 * - before structured logging (≤1.19), prober.go:
 *   `Liveness probe for "aws-node-7xk2p_kube-system(0b5a…):aws-node" failed (failure): timeout: failed to connect service ":50051" within 5s`
 * - the restart a failed liveness/startup probe causes, kuberuntime_manager.go:
 *   `"Message for Container of pod" containerName="aws-node" containerStatusID={…} pod="kube-system/aws-node-7xk2p" containerMessage="Container aws-node failed liveness probe, will be restarted"`
 *   (older: `… Container aws-node failed liveness probe, will be restarted` with the pod as `name_namespace(uid)`).
 */
import type { FileRef } from '../../engine/rule.ts';
import type { JournalEntry, JournalEvent } from '../../parsers/journal.ts';
import { parseStructured } from '../../parsers/journal.ts';

/** Substrings a kubelet line must contain to be about probes (the engine's byte prefilter). */
export const PROBE_FILTERS = ['Probe failed', 'Probe errored', ' probe for "', 'probe, will be restarted'] as const;

/**
 * Journal lines to read after a probe line: kubelet writes a probe output that ends in a newline as a klog
 * multi-line value (`output=<`, the text, ` >`), one journal entry per line, and those lines hold no filter string.
 */
export const PROBE_CONTINUATION_LINES = 4;

export type ProbeType = 'Liveness' | 'Readiness' | 'Startup';

export interface ProbeFailure {
  kind: 'failure';
  probeType: ProbeType;
  namespace: string;
  pod: string;
  container: string;
  /** What the probe printed or the error it hit. */
  output: string;
  /** `failure` (the probe ran and failed) or `unknown` (it errored). */
  result: string;
  timedOut: boolean;
}

export interface ProbeRestart {
  kind: 'restart';
  probeType: ProbeType;
  namespace: string;
  pod: string;
  container: string;
}

export type ProbeSighting = ProbeFailure | ProbeRestart;

const OLD_FORMAT = /^(Liveness|Readiness|Startup) probe for "([^"]*)" (?:failed|errored) \(([^)]*)\):\s?([\s\S]*)$/;
const RESTART_MESSAGE =
  /Container (\S+) failed (liveness|startup|readiness) probe(?:, will be restarted|\. Container will be killed and recreated)/i;
const TIMEOUT = /timeout|timed out|deadline exceeded|within \d+(?:\.\d+)?m?s\b|Client\.Timeout|i\/o timeout/i;

export function isTimeout(output: string): boolean {
  return TIMEOUT.test(output);
}

function probeType(value: string | undefined): ProbeType | undefined {
  if (!value) return undefined;
  const normalized = value.charAt(0).toUpperCase() + value.slice(1).toLowerCase();
  return normalized === 'Liveness' || normalized === 'Readiness' || normalized === 'Startup' ? normalized : undefined;
}

/** `kube-system/aws-node-7xk2p` or `aws-node-7xk2p_kube-system(uid)` → namespace and pod. */
function splitPod(value: string): { namespace: string; pod: string } {
  const slash = value.indexOf('/');
  if (slash > 0) return { namespace: value.slice(0, slash), pod: value.slice(slash + 1) };
  const old = /^(.+)_([^_(]+)(?:\([^)]*\))?$/.exec(value);
  if (old) return { namespace: old[2] as string, pod: old[1] as string };
  return { namespace: '', pod: value };
}

export function interpretProbeLine(entry: JournalEntry): ProbeSighting | undefined {
  if (entry.ident !== 'kubelet' && !entry.ident.startsWith('kubelet')) return undefined;
  const text = entry.text;
  if (text.startsWith('"Probe failed"') || text.startsWith('"Probe errored"')) {
    const { kv } = parseStructured(text);
    const type = probeType(kv.probeType);
    if (!type || !kv.pod) return undefined;
    const output = kv.output ?? kv.err ?? '';
    return {
      kind: 'failure',
      probeType: type,
      ...splitPod(kv.pod),
      container: kv.containerName ?? '',
      output,
      result: kv.probeResult ?? (text.startsWith('"Probe errored"') ? 'unknown' : 'failure'),
      timedOut: isTimeout(output),
    };
  }
  const old = OLD_FORMAT.exec(text);
  if (old) {
    const [, type, target = '', result = '', output = ''] = old;
    const colon = target.lastIndexOf(':');
    const podPart = colon >= 0 ? target.slice(0, colon) : target;
    return {
      kind: 'failure',
      probeType: type as ProbeType,
      ...splitPod(podPart),
      container: colon >= 0 ? target.slice(colon + 1) : '',
      output,
      result,
      timedOut: isTimeout(output),
    };
  }
  const restart = RESTART_MESSAGE.exec(text);
  if (restart) {
    const { kv } = parseStructured(text);
    // Structured: pod="ns/name"; older: `Container "c" ("containerd://…") of pod name_ns(uid): …`.
    const podValue = kv.pod ?? /pod "([^"]+)"/.exec(text)?.[1] ?? /\bof pod ([^\s:]+)/.exec(text)?.[1] ?? '';
    return {
      kind: 'restart',
      probeType: probeType(restart[2]) ?? 'Liveness',
      ...splitPod(podValue),
      container: kv.containerName ?? (restart[1] as string),
    };
  }
  return undefined;
}

/** The VPC CNI's own pod: its failing probes take pod networking on the node down. */
export function isAwsNode(namespace: string, pod: string): boolean {
  // DaemonSet pods are `aws-node-` plus five characters; aws-node-termination-handler-* is another component.
  return namespace === 'kube-system' && /^aws-node-[a-z0-9]{5}$/.test(pod);
}

/**
 * Reads probe sightings from journal events, joining a multi-line `output=<` value with the entries that continue it
 * before interpreting the line. Call `flush()` in `done()`: the last value may still be open.
 */
export function createProbeReader(onSighting: (sighting: ProbeSighting, entry: JournalEntry, file: FileRef) => void): {
  handle(event: JournalEvent, file: FileRef): void;
  flush(): void;
} {
  let open: { entry: JournalEntry; file: FileRef; text: string } | undefined;
  const flush = () => {
    if (!open) return;
    const sighting = interpretProbeLine({ ...open.entry, text: open.text });
    if (sighting) onSighting(sighting, open.entry, open.file);
    open = undefined;
  };
  return {
    handle(event, file) {
      if (event.kind !== 'entry') return;
      if (open && event.continuationOf === open.entry.line && file.path === open.file.path) {
        open.text += `\n${event.message}`;
        return;
      }
      flush();
      if (event.continuationOf !== undefined) return;
      if (/=<\s*$/.test(event.text)) {
        open = { entry: event, file, text: event.text };
        return;
      }
      const sighting = interpretProbeLine(event);
      if (sighting) onSighting(sighting, event, file);
    },
    flush,
  };
}
