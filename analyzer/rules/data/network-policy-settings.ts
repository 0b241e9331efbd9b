/**
 * Whether network policy is enabled on the node and in which mode, from whichever of these the bundle has:
 * - the agent's own start-up lines (what is in effect): `Network Policy is enabled, …`, and the mode it got from
 *   ipamd (`… NetworkPolicyMode: strict …`);
 * - the aws-node container's `NETWORK_POLICY_ENFORCING_MODE` (ctr container info, docker inspect, the pod spec;
 *   unset means standard) and the aws-eks-nodeagent container's `--enable-network-policy` flag (pod spec);
 * - the agent's eBPF programs listed in networking/ebpf-data.txt (they exist only when it enforces policy).
 * The agent's lines win over the configuration; among pod specs, this node's aws-node pod wins.
 */
import { type ContainerRecord, isSameNode, parseImage } from '../../engine/node-identity.ts';
import type { Evidence } from '../../report/model.ts';
import { agentEnabledOf, agentModeOf, enabledFromArgs, modeFromEnv } from './network-policy-agent-messages.ts';

export type NetworkPolicyMode = 'strict' | 'standard';

export interface Observed<T> {
  value: T;
  evidence: Evidence;
}

interface Candidate<T> extends Observed<T> {
  nodeName?: string;
}

export interface NetworkPolicyState {
  enabled?: Observed<boolean>;
  mode?: Observed<NetworkPolicyMode>;
}

export class NetworkPolicySettings {
  #logEnabled: Observed<boolean> | undefined;
  #logMode: Observed<NetworkPolicyMode> | undefined;
  readonly #configEnabled: Candidate<boolean>[] = [];
  readonly #configMode: Candidate<NetworkPolicyMode>[] = [];
  #programs: Observed<boolean> | undefined;

  /** A line of the agent's log (file or container): the latest start-up statement wins. */
  sawAgentMessage(msg: string, evidence: Evidence): void {
    const enabled = agentEnabledOf(msg);
    if (enabled !== undefined) this.#logEnabled = { value: enabled, evidence };
    const mode = agentModeOf(msg);
    if (mode) this.#logMode = { value: mode, evidence };
  }

  sawContainers(records: readonly ContainerRecord[], path: string): void {
    for (const record of records) {
      const image = parseImage(record.image).name;
      if (record.name === 'aws-node' || image === 'amazon-k8s-cni') {
        const mode = modeFromEnv(record.env);
        const set = record.env.NETWORK_POLICY_ENFORCING_MODE;
        // Unset means standard (ipamd's default; strict has to be asked for), but only where the source holds the
        // container's whole environment: a pod spec can still set it through envFrom.
        const unset = set === undefined && record.source !== 'pod list';
        if ((mode || unset) && !record.init && this.#configMode.length < 10_000) {
          this.#configMode.push({
            value: mode ?? 'standard',
            evidence: {
              path,
              text:
                set === undefined
                  ? `${label(record)} env has no NETWORK_POLICY_ENFORCING_MODE (default standard)`
                  : `${label(record)} env NETWORK_POLICY_ENFORCING_MODE=${set}`,
            },
            ...(record.nodeName ? { nodeName: record.nodeName } : {}),
          });
        }
      }
      if (record.name === 'aws-eks-nodeagent' || image === 'aws-network-policy-agent') {
        const enabled = enabledFromArgs(record.args);
        const flag = record.args.find((arg) => arg.startsWith('--enable-network-policy'));
        if (enabled !== undefined && flag && this.#configEnabled.length < 10_000) {
          this.#configEnabled.push({
            value: enabled,
            evidence: { path, text: `${label(record)} args ${flag}` },
            ...(record.nodeName ? { nodeName: record.nodeName } : {}),
          });
        }
      }
    }
  }

  /** The agent's eBPF programs are loaded on the node (networking/ebpf-data.txt): network policy is on. */
  sawLoadedPrograms(evidence: Evidence): void {
    this.#programs ??= { value: true, evidence };
  }

  state(hostname: string | undefined): NetworkPolicyState {
    const state: NetworkPolicyState = {};
    const enabled = this.#logEnabled ?? pick(this.#configEnabled, hostname) ?? this.#programs;
    if (enabled) state.enabled = enabled;
    const mode = this.#logMode ?? pick(this.#configMode, hostname);
    if (mode) state.mode = mode;
    // An agent that reports a mode has network policy on even when its flag was not seen.
    if (!state.enabled && this.#logMode) state.enabled = { value: true, evidence: this.#logMode.evidence };
    return state;
  }
}

function label(record: ContainerRecord): string {
  return `${record.pod ? `${record.pod}/` : ''}${record.name} (${record.source})`;
}

function pick<T>(candidates: readonly Candidate<T>[], hostname: string | undefined): Observed<T> | undefined {
  const mine = candidates.find((candidate) => isSameNode(candidate.nodeName, hostname));
  if (mine) return mine;
  const local = candidates.filter((candidate) => candidate.nodeName === undefined);
  if (local.length > 0) return local.at(-1);
  const values = new Set(candidates.map((candidate) => candidate.value));
  return values.size === 1 ? candidates[0] : undefined;
}
