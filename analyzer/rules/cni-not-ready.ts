/**
 * cni-not-ready: the node's pod network is not (or was long not) ready: kubelet reports the network plugin not
 * ready, the VPC CNI's configuration is missing, or ipamd does not serve the CNI plugin.
 *
 * Evidence:
 * - kubelet journal (or /var/log/messages when the journal is absent): `"Container runtime network not ready"
 *   networkReady="NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin
 *   not initialized"` (containerd), `... docker: network plugin is not ready: cni config uninitialized` (dockershim),
 *   `"Unable to update cni config" err="no networks found in /etc/cni/net.d"`. kubelet repeats it every few seconds
 *   while not ready; a short burst at boot (until aws-node writes its config) is normal, so the rule judges episodes:
 *   still not ready at the end of the journal, or not ready for longer than five minutes.
 * - `cni/10-aws.conflist` (the config aws-node writes): missing while the bundle shows the VPC CNI runs here (the
 *   stock collector's `cni/` files of the aws-node container, or ipamd's log), or not valid JSON.
 * - ipamd not serving the plugin: plugin.log `Error received from AddNetwork grpc call for containerID ...: rpc error:
 *   code = Unavailable ... connection refused` / `Failed to connect to backend server`
 *   (cmd/routed-eni-cni-plugin/cni.go), the same in kubelet's sandbox errors, ipamd answering neither introspection
 *   nor metrics when the bundle was collected (empty `ipamd/enis.json` and `ipamd/metrics.json`, a curl error, or
 *   our manifest's connection error).
 */

import type { ItemId } from '../../contract/bundle.ts';
import { defineRule, type FileRef, type FileSummary, type MessageData } from '../engine/rule.ts';
import type { IpamdLogEvent } from '../parsers/ipamd-log.ts';
import { type JournalEvent, journalParser } from '../parsers/journal.ts';
import type { PromTextEvent } from '../parsers/prom-text.ts';
import type { Evidence, Fact, Severity } from '../report/model.ts';

const KUBELET_FILTERS = [
  'NetworkPluginNotReady',
  'cni config uninitialized',
  'network plugin is not ready',
  'cni plugin not initialized',
  'no networks found in /etc/cni/net.d',
  'AddNetwork gRPC call',
] as const;
const PLUGIN_FILTERS = [
  'AddNetwork grpc call',
  'AddNetwork gRPC call',
  'Failed to connect to backend server',
  'Received add network response',
] as const;

const NOT_READY =
  /NetworkPluginNotReady|cni config uninitialized|network plugin is not ready|cni plugin not initialized|no networks found in \/etc\/cni\/net\.d/;
const NOT_READY_REASON = /message:([^"\\]+)|err="([^"]*no networks found[^"]*)"/;
const GRPC_FAILED = /Error received from AddNetwork g[rR][pP][cC] call|Failed to connect to backend server/;
const NOT_SERVING =
  /connection refused|code = Unavailable|connect: no such file or directory|Error while dialing|connection error|context deadline exceeded/;
const ADD_SUCCEEDED = /Received add network response/;
const DIAL_FAILURE = /ECONNREFUSED|connection refused|ETIMEDOUT|timed? ?out|no such file|EHOSTUNREACH|socket hang up/i;

/** kubelet repeats the message every ~5 s while not ready: a longer silence ends an episode. */
const EPISODE_GAP_MS = 5 * 60_000;
/** A not-ready episode longer than this is more than the seconds aws-node needs at boot. */
const LONG_EPISODE_MS = 5 * 60_000;
/** Not-ready lines this close to the end of the journal mean the node was still not ready when collected. */
const CURRENT_MS = 5 * 60_000;
/** A current episode shorter than this is a node still booting when the bundle was taken. */
const BOOTING_MS = 2 * 60_000;
const SAMPLES = 2;

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

type MessageId = 'notReady' | 'notReadyPast' | 'conflistMissing' | 'conflistInvalid' | 'ipamdNotServing' | 'ready';

interface Finding {
  id: Exclude<MessageId, 'ready'>;
  severity: Severity;
  data: MessageData;
  /** A clause naming this finding when another one leads the summary. */
  short: string;
  evidence: Evidence[];
  caveats?: string[];
}

/** Where a plugin.log line stands in time: by timestamp, or by line within one file. */
interface PluginMoment {
  ms?: number;
  line: number;
  path: string;
}

function isAfter(a: PluginMoment, b: PluginMoment): boolean {
  if (a.ms !== undefined && b.ms !== undefined) return a.ms > b.ms;
  return a.path === b.path && a.line > b.line;
}

/** Facts and caveats the three judgements add to the verdict. */
interface Notes {
  facts: Fact[];
  caveats: string[];
}

interface Episode {
  start: number;
  end: number;
  count: number;
  first: Evidence;
  last: Evidence;
}

function minutes(ms: number): string {
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))} s`;
  if (ms < 2 * 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/**
 * Comparable times for journal lines: ISO layouts as they are, year-less `Nov 20 08:41:07` in a fixed year, so the
 * lines of one journal compare with each other and with its last line whatever year the bundle was taken in.
 */
function createClock(): (raw: string) => number | undefined {
  const parser = journalParser.create({ referenceYear: 2000 });
  return (raw) => {
    let ms: number | undefined;
    parser.push(raw, 1, (event) => {
      if (event.kind === 'entry') ms = event.epochMs;
    });
    return ms;
  };
}

/** Tracks not-ready episodes of one kubelet source with bounded state. */
function createEpisodes() {
  let current: Episode | undefined;
  let longest: Episode | undefined;
  let episodes = 0;
  let lines = 0;
  let untimed = 0;
  const samples: Evidence[] = [];
  let lastEvidence: Evidence | undefined;
  let reason: string | undefined;
  const close = () => {
    if (current && (!longest || current.end - current.start > longest.end - longest.start)) longest = current;
  };
  return {
    add(ms: number | undefined, evidence: Evidence, text: string) {
      lines++;
      lastEvidence = evidence;
      if (samples.length < SAMPLES) samples.push(evidence);
      if (!reason) {
        const match = NOT_READY_REASON.exec(text);
        reason = (match?.[1] ?? match?.[2])?.trim();
      }
      if (ms === undefined) {
        untimed++;
        return;
      }
      if (current && ms - current.end <= EPISODE_GAP_MS && ms >= current.start) {
        current.end = ms;
        current.count++;
        current.last = evidence;
        return;
      }
      close();
      episodes++;
      current = { start: ms, end: ms, count: 1, first: evidence, last: evidence };
    },
    result() {
      close();
      return { current, longest, episodes, lines, untimed, samples, lastEvidence, reason };
    },
  };
}

export default defineRule({
  meta: {
    id: 'cni-not-ready',
    title: 'CNI not ready on the node',
    severity: 'critical',
    description:
      'Until the VPC CNI has written its configuration and ipamd serves the CNI plugin, kubelet reports NetworkPluginNotReady, the node stays NotReady and no pod on it gets a network. A few seconds of this at boot are normal; minutes, or still at collection time, are not.',
    needs: [
      {
        anyOf: [
          'kubelet-log',
          'system-messages',
          'system-syslog',
          'cni-conflist',
          'plugin-log',
          'ipamd-enis',
          'ipamd-metrics',
        ],
      },
    ],
    uses: [
      'cni-env-containerd',
      'cni-env-dockerd',
      'ipamd-log',
      'ipamd-introspection-ignored',
      'ipamd-metrics-ignored',
    ],
    filters: {
      'kubelet-log': KUBELET_FILTERS,
      'system-messages': KUBELET_FILTERS,
      'system-syslog': KUBELET_FILTERS,
      'plugin-log': PLUGIN_FILTERS,
      'ipamd-log': ['Starting L-IPAMD'],
    },
    messages: {
      notReady:
        'kubelet still reports the network plugin not ready at the end of its journal: "{{reason}}", {{count}} lines since {{since}} ({{duration}}){{also}}.',
      notReadyPast:
        'kubelet reported the network plugin not ready for {{duration}} ({{from}} to {{to}}, {{count}} lines); it then stopped, {{ago}} before the journal ends{{also}}.',
      conflistMissing:
        'cni/10-aws.conflist is missing although the VPC CNI runs on this node ({{why}}): kubelet finds no network configuration and the node stays NotReady{{also}}.',
      conflistInvalid: '{{path}} is empty or not valid JSON, so kubelet cannot load the VPC CNI configuration{{also}}.',
      ipamdNotServing: 'ipamd is not serving the CNI plugin: {{signals}}{{also}}.',
      ready: 'The CNI is ready: {{observed}}.',
    },
    remediation: [
      'See the node condition and why: `kubectl describe node <node> | grep -A3 Ready` and `journalctl -u kubelet | grep -m5 NetworkPluginNotReady`.',
      'Check aws-node on the node: `kubectl -n kube-system get pods -o wide --field-selector spec.nodeName=<node> -l k8s-app=aws-node`; when it is not Running/Ready, read `kubectl -n kube-system logs <aws-node pod> -c aws-vpc-cni-init` and `-c aws-node`.',
      'On the node, check the CNI configuration and binaries aws-node installs: `ls -l /etc/cni/net.d/ /opt/cni/bin/` (expect `10-aws.conflist` and `aws-cni`).',
      'If ipamd is not serving (connection refused on 127.0.0.1:50051 or /var/run/aws-node/ipamd.sock), see `/var/log/aws-routed-eni/ipamd.log` for why it exits (API server access, IAM permissions, IMDS) and the ipamd-api-server-unreachable and ec2-api-errors findings.',
    ],
    references: [
      {
        title: 'EKS: troubleshooting nodes that are NotReady (CNI)',
        url: 'https://docs.aws.amazon.com/eks/latest/userguide/troubleshooting.html',
      },
      {
        title: 'VPC CNI troubleshooting guide',
        url: 'https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/troubleshooting.md',
      },
      {
        title: 'Kubernetes: network plugins (CNI) and node readiness',
        url: 'https://kubernetes.io/docs/concepts/extend-kubernetes/compute-storage-net/network-plugins/',
      },
    ],
  },
  create(ctx) {
    const clock = createClock();
    const fromKubelet = createEpisodes();
    const fromSyslog = createEpisodes();
    const grpcFailures = { count: 0, samples: [] as Evidence[], last: undefined as Evidence | undefined };
    const kubeletGrpc = { count: 0, samples: [] as Evidence[] };
    let lastAddSucceeded: PluginMoment | undefined;
    let lastGrpcFailure: PluginMoment | undefined;
    let conflist: { valid: boolean; description: string; path: string } | undefined;
    let metricsSamples = 0;
    let metricsFetchError: Evidence | undefined;
    let enisDocuments = 0;
    const disabledByEnv = new Set<string>();

    const onJournal =
      (episodes: ReturnType<typeof createEpisodes>, grpc: boolean) => (event: JournalEvent, file: FileRef) => {
        if (event.kind !== 'entry' || !event.ident.startsWith('kubelet')) return;
        const evidence = ctx.evidence(file, event, { time: event.timestamp, highlight: true });
        if (NOT_READY.test(event.text)) episodes.add(clock(event.raw), evidence, event.text);
        else if (grpc && GRPC_FAILED.test(event.text) && NOT_SERVING.test(event.text)) {
          kubeletGrpc.count++;
          if (kubeletGrpc.samples.length < SAMPLES) kubeletGrpc.samples.push(evidence);
        }
      };

    const readEnv = (value: unknown) => {
      // `ctr container info`: {"Spec":{"process":{"env":["K=V",...]}}}
      const env = (value as { Spec?: { process?: { env?: unknown } } } | null)?.Spec?.process?.env;
      if (!Array.isArray(env)) return;
      for (const entry of env) {
        if (typeof entry !== 'string') continue;
        const [key, setting] = entry.split('=', 2);
        if ((key === 'DISABLE_INTROSPECTION' || key === 'DISABLE_METRICS') && setting?.toLowerCase() === 'true') {
          disabledByEnv.add(key);
        }
      }
    };

    const item = (id: ItemId) => ctx.bundle.item(id);
    const lineCount = (files: FileSummary[]) => files.reduce((sum, file) => sum + file.lines, 0);

    /** kubelet's not-ready episodes, from its journal (or syslog when the journal is absent). */
    const judgeJournal = (notes: Notes) => {
      const findings: Finding[] = [];
      const { facts, caveats } = notes;
      const kubeletItem = item('kubelet-log');
      const journalFiles = kubeletItem.present
        ? kubeletItem.files
        : [...item('system-messages').files, ...item('system-syslog').files];
      const journal = (kubeletItem.present ? fromKubelet : fromSyslog).result();
      const journalLines = lineCount(journalFiles);
      const journalEnd = journalFiles
        .map((file) => (file.lastLine ? clock(file.lastLine) : undefined))
        .reduce<number | undefined>(
          (max, ms) => (ms !== undefined && (max === undefined || ms > max) ? ms : max),
          undefined,
        );
      if (journalLines > 0) {
        facts.push({
          label: 'kubelet journal lines scanned',
          value: journalLines.toLocaleString('en-US'),
          path: journalFiles.map((f) => f.path).join(', '),
        });
      }
      if (journal.lines > 0) {
        facts.push({ label: 'NetworkPluginNotReady lines', value: String(journal.lines) });
        const reason = journal.reason ?? 'network plugin not ready';
        const current = journal.current;
        const isCurrent = current !== undefined && journalEnd !== undefined && journalEnd - current.end <= CURRENT_MS;
        const longest = journal.longest;
        if (current && isCurrent) {
          const duration = current.end - current.start;
          const booting =
            duration < BOOTING_MS &&
            (journal.episodes === 1 || (longest?.end ?? 0) - (longest?.start ?? 0) < BOOTING_MS);
          findings.push({
            id: 'notReady',
            severity: booting ? 'warning' : 'critical',
            data: {
              reason,
              count: current.count,
              since: current.first.time ?? `line ${current.first.line}`,
              duration: minutes(duration),
            },
            short: `kubelet still reports NetworkPluginNotReady at the end of its journal (${minutes(duration)})`,
            evidence: [current.first, { ...current.last, note: `last of ${current.count} in this episode` }],
            caveats: booting
              ? [
                  'The episode is shorter than two minutes: the bundle may have been taken while the node was still starting (aws-node writes its configuration within seconds to a minute of boot).',
                ]
              : undefined,
          });
        } else if (longest && longest.end - longest.start > LONG_EPISODE_MS) {
          findings.push({
            id: 'notReadyPast',
            severity: 'warning',
            data: {
              duration: minutes(longest.end - longest.start),
              from: longest.first.time ?? `line ${longest.first.line}`,
              to: longest.last.time ?? `line ${longest.last.line}`,
              count: longest.count,
              ago: journalEnd === undefined ? 'some time' : minutes(journalEnd - longest.end),
            },
            short: `kubelet reported NetworkPluginNotReady for ${minutes(longest.end - longest.start)} earlier`,
            evidence: [longest.first, { ...longest.last, note: `last of ${longest.count} in this episode` }],
          });
        } else if (journal.untimed === journal.lines) {
          findings.push({
            id: 'notReadyPast',
            severity: 'warning',
            data: { duration: 'an unknown time', from: '?', to: '?', count: journal.lines, ago: 'an unknown time' },
            short: `kubelet reported NetworkPluginNotReady ${journal.lines} times`,
            evidence: [...journal.samples, ...(journal.lastEvidence ? [journal.lastEvidence] : [])],
            caveats: ['The journal lines carry no readable time, so how long the network was not ready is unknown.'],
          });
        } else if (longest) {
          caveats.push(
            `kubelet reported NetworkPluginNotReady for ${minutes(longest.end - longest.start)} (${longest.first.time ?? ''} to ${longest.last.time ?? ''}), as it does while aws-node starts; it was ready afterwards.`,
          );
        }
      }

      return { findings, journal, journalFiles, journalLines, journalEnd };
    };

    /** cni/10-aws.conflist: valid, invalid, or missing where the bundle shows the VPC CNI runs. */
    const judgeConfig = (notes: Notes): Finding[] => {
      const findings: Finding[] = [];
      const { facts, caveats } = notes;
      const conflistItem = item('cni-conflist');
      const envFiles = [...item('cni-env-containerd').files, ...item('cni-env-dockerd').files];
      const vpcCniEvidence: string[] = [];
      if (envFiles.some((file) => file.lines > 0))
        vpcCniEvidence.push(`the aws-node container's settings are in ${envFiles.map((f) => f.path).join(', ')}`);
      if (item('ipamd-log').present) vpcCniEvidence.push(`ipamd writes ${item('ipamd-log').paths[0]}`);
      const manifestRecord = ctx.bundle.manifest?.items.find((record) => record.id === 'cni-conflist');
      if (conflist) {
        facts.push({ label: 'CNI configuration', value: conflist.description, path: conflist.path });
        if (!conflist.valid) {
          findings.push({
            id: 'conflistInvalid',
            severity: 'critical',
            data: { path: conflist.path },
            short: `${conflist.path} has no plugins`,
            evidence: [{ path: conflist.path, text: conflist.description, highlight: true }],
          });
        }
      } else if (conflistItem.present) {
        const path = conflistItem.paths[0] ?? 'cni/10-aws.conflist';
        findings.push({
          id: 'conflistInvalid',
          severity: 'critical',
          data: { path },
          short: `${path} is empty or not valid JSON`,
          evidence: [{ path, text: conflistItem.files[0]?.firstLine ?? '(empty file)', highlight: true }],
        });
      } else {
        // Our manifest says whether the file was absent on the node; in a stock bundle, the aws-node files the
        // collector put in cni/ show it copied /etc/cni/net.d/* (10-aws.conflist would be beside them).
        const missingOnNode = ctx.bundle.manifest
          ? manifestRecord !== undefined &&
            (manifestRecord.status === 'error' || manifestRecord.status === 'skipped') &&
            /ENOENT|no such file|not found|does not exist/i.test(manifestRecord.reason ?? '')
          : envFiles.length > 0;
        if (missingOnNode && vpcCniEvidence.length > 0) {
          findings.push({
            id: 'conflistMissing',
            severity: 'critical',
            data: { why: vpcCniEvidence.join('; ') },
            short: 'cni/10-aws.conflist is missing',
            evidence: [
              manifestRecord
                ? {
                    path: 'manifest.json',
                    text: `cni-conflist: ${manifestRecord.status}${manifestRecord.reason ? ` (${manifestRecord.reason})` : ''}`,
                    highlight: true,
                  }
                : {
                    path: 'cni/10-aws.conflist',
                    text: '(absent from the collected cni/ folder)',
                    note: `the folder holds ${envFiles.map((f) => f.path).join(', ')}`,
                    highlight: true,
                  },
            ],
          });
        } else {
          caveats.push(
            'cni/10-aws.conflist is not in the bundle, and nothing shows whether the collector looked for it.',
          );
        }
      }

      return findings;
    };

    /** Whether ipamd answered the CNI plugin and the collector. */
    const judgeServing = (notes: Notes): Finding[] => {
      const findings: Finding[] = [];
      const { caveats } = notes;
      const servingSignals: string[] = [];
      const servingEvidence: Evidence[] = [];
      let servingSeverity: Severity = 'critical';
      if (grpcFailures.count > 0) {
        const recovered =
          lastAddSucceeded !== undefined && lastGrpcFailure !== undefined && isAfter(lastAddSucceeded, lastGrpcFailure);
        if (recovered) servingSeverity = 'warning';
        servingSignals.push(
          `the CNI plugin could not reach ipamd ${grpcFailures.count === 1 ? 'once' : `${grpcFailures.count} times`}${recovered ? ' (later CNI adds succeeded)' : ' and no CNI add succeeded afterwards'}`,
        );
        servingEvidence.push(...grpcFailures.samples);
        if (grpcFailures.last) servingEvidence.push({ ...grpcFailures.last, note: `last of ${grpcFailures.count}` });
      }
      if (kubeletGrpc.count > 0) {
        servingSignals.push(
          `kubelet logged ${kubeletGrpc.count} sandbox failures with "Error received from AddNetwork gRPC call"`,
        );
        servingEvidence.push(...kubeletGrpc.samples);
      }
      const manifestDialErrors = (ctx.bundle.manifest?.items ?? []).filter(
        (record) =>
          (record.id === 'ipamd-enis' || record.id === 'ipamd-metrics') &&
          (record.status === 'error' || record.status === 'timeout') &&
          DIAL_FAILURE.test(record.reason ?? ''),
      );
      const enisItem = item('ipamd-enis');
      const metricsItem = item('ipamd-metrics');
      const enisSilent = enisItem.present && enisDocuments === 0 && lineCount(enisItem.files) === 0;
      const metricsSilent = metricsItem.present && metricsSamples === 0;
      const introspectionSkipped =
        item('ipamd-introspection-ignored').present || disabledByEnv.has('DISABLE_INTROSPECTION');
      const metricsSkipped = item('ipamd-metrics-ignored').present || disabledByEnv.has('DISABLE_METRICS');
      if (manifestDialErrors.length === 2 || (manifestDialErrors.length === 1 && (enisSilent || metricsSilent))) {
        servingSignals.push(
          `ipamd refused the collector's requests (${manifestDialErrors.map((record) => `${record.id}: ${record.reason}`).join('; ')})`,
        );
        for (const record of manifestDialErrors) {
          servingEvidence.push({
            path: 'manifest.json',
            text: `${record.id}: ${record.status} (${record.reason ?? ''})`,
            highlight: true,
          });
        }
      } else if (enisSilent && metricsSilent && !introspectionSkipped && !metricsSkipped) {
        servingSignals.push(
          `ipamd answered neither its introspection endpoint (${enisItem.paths[0]} is empty) nor its metrics (${metricsFetchError ? metricsFetchError.text : `${metricsItem.paths[0]} is empty`}) when the bundle was collected`,
        );
        servingEvidence.push(
          {
            path: enisItem.paths[0] ?? 'ipamd/enis.json',
            text: '(empty: no answer from 127.0.0.1:61679)',
            highlight: true,
          },
          metricsFetchError ?? {
            path: metricsItem.paths[0] ?? 'ipamd/metrics.json',
            text: '(empty: no answer from :61678)',
            highlight: true,
          },
        );
      } else if (enisSilent || metricsSilent) {
        caveats.push(
          `${enisSilent ? enisItem.paths[0] : metricsItem.paths[0]} is empty: that ipamd endpoint did not answer (it may be disabled with ${enisSilent ? 'DISABLE_INTROSPECTION' : 'DISABLE_METRICS'}).`,
        );
      }
      if (servingSignals.length > 0) {
        findings.push({
          id: 'ipamdNotServing',
          severity: servingSeverity,
          data: { signals: servingSignals.join('; ') },
          short: `ipamd is not serving (${servingSignals[0]})`,
          evidence: servingEvidence,
        });
      }

      return findings;
    };

    return {
      'kubelet-log': onJournal(fromKubelet, true),
      'system-messages': onJournal(fromSyslog, false),
      'system-syslog': onJournal(fromSyslog, false),
      'plugin-log'(event: IpamdLogEvent, file) {
        if (event.kind !== 'entry') return;
        const parsed = event.ts ? Date.parse(event.ts) : Number.NaN;
        const moment: PluginMoment = {
          ms: Number.isNaN(parsed) ? undefined : parsed,
          line: event.line,
          path: file.path,
        };
        if (ADD_SUCCEEDED.test(event.msg)) {
          if (!lastAddSucceeded || isAfter(moment, lastAddSucceeded)) lastAddSucceeded = moment;
          return;
        }
        if (!GRPC_FAILED.test(event.msg) || !NOT_SERVING.test(event.msg)) return;
        grpcFailures.count++;
        if (!lastGrpcFailure || isAfter(moment, lastGrpcFailure)) lastGrpcFailure = moment;
        const evidence = ctx.evidence(file, event, { time: event.ts, highlight: true });
        if (grpcFailures.samples.length < SAMPLES) grpcFailures.samples.push(evidence);
        else grpcFailures.last = evidence;
      },
      'cni-conflist'(event, file) {
        if (event.kind !== 'document') return;
        const value = event.value as { cniVersion?: unknown; name?: unknown; plugins?: unknown; type?: unknown } | null;
        const plugins = Array.isArray(value?.plugins)
          ? value.plugins.map((plugin) => String((plugin as { type?: unknown } | null)?.type ?? '?'))
          : typeof value?.type === 'string'
            ? [value.type]
            : [];
        conflist = {
          valid: plugins.length > 0,
          path: file.path,
          description: `cniVersion ${String(value?.cniVersion ?? '?')}, name ${String(value?.name ?? '?')}, plugins ${plugins.join(', ') || 'none'}`,
        };
      },
      'cni-env-containerd'(event) {
        if (event.kind === 'document') readEnv(event.value);
      },
      'cni-env-dockerd'(event) {
        // `docker container inspect` is an array of containers with Config.Env.
        if (event.kind !== 'document' || !Array.isArray(event.value)) return;
        for (const container of event.value) {
          readEnv({ Spec: { process: { env: (container as { Config?: { Env?: unknown } } | null)?.Config?.Env } } });
        }
      },
      'ipamd-log'() {},
      'ipamd-introspection-ignored'() {},
      'ipamd-metrics-ignored'() {},
      'ipamd-enis'(event) {
        if (event.kind === 'document') enisDocuments++;
      },
      'ipamd-metrics'(event: PromTextEvent, file) {
        if (event.kind === 'sample') metricsSamples++;
        else if (event.kind === 'fetch-error') metricsFetchError ??= ctx.evidence(file, event, { highlight: true });
      },
      done() {
        const notes: Notes = { facts: [], caveats: [] };
        const { facts, caveats } = notes;
        const { findings: journalFindings, journal, journalFiles, journalLines, journalEnd } = judgeJournal(notes);
        const findings = [...journalFindings, ...judgeConfig(notes), ...judgeServing(notes)];

        const order: Finding['id'][] = [
          'notReady',
          'conflistMissing',
          'conflistInvalid',
          'ipamdNotServing',
          'notReadyPast',
        ];
        findings.sort(
          (a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || order.indexOf(a.id) - order.indexOf(b.id),
        );
        const [lead, ...others] = findings;
        if (lead) {
          ctx.fail(
            lead.id,
            { ...lead.data, also: others.length > 0 ? `; also ${others.map((f) => f.short).join('; ')}` : '' },
            {
              severity: lead.severity,
              evidence: findings.flatMap((finding) => finding.evidence),
              facts,
              caveats: [...findings.flatMap((finding) => finding.caveats ?? []), ...caveats],
            },
          );
          return;
        }

        const observed: string[] = [];
        const evidence: Evidence[] = [];
        if (journalLines > 0) {
          observed.push(
            journal.lines === 0
              ? `kubelet never reported NetworkPluginNotReady in ${journalLines.toLocaleString('en-US')} journal lines`
              : `kubelet's NetworkPluginNotReady reports ended ${journalEnd !== undefined && journal.longest ? `${minutes(journalEnd - journal.longest.end)} ` : ''}before the journal ends`,
          );
          for (const file of journalFiles) {
            if (file.lastLine)
              evidence.push({ path: file.path, line: file.lines, text: file.lastLine, note: 'last line' });
          }
          if (journal.longest)
            evidence.push({ ...journal.longest.last, highlight: false, note: 'last not-ready report' });
        }
        if (conflist?.valid) {
          observed.push(`${conflist.path} holds ${conflist.description}`);
          evidence.push({ path: conflist.path, text: conflist.description });
        }
        if (observed.length === 0) {
          ctx.notEvaluated(
            `neither the kubelet journal nor cni/10-aws.conflist could be read${journalFiles.length > 0 ? ` (${journalFiles.map((f) => f.path).join(', ')} is empty)` : ''}, and nothing else showed a problem`,
          );
          return;
        }
        if (lastAddSucceeded) observed.push('the CNI plugin received IP addresses from ipamd');
        ctx.pass('ready', { observed: observed.join('; ') }, { evidence, facts, caveats });
      },
    };
  },
});
