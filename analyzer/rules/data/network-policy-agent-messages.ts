/**
 * What the Amazon VPC network policy agent (aws-eks-nodeagent) and its eBPF SDK log when enforcement goes wrong,
 * and how its mode and start-ups show, as found in aws/aws-network-policy-agent (`pkg/ebpf/bpf_client.go`,
 * `pkg/rpc/rpc_handler.go`, `main.go`) and aws/aws-ebpf-sdk-go (`pkg/maps/loader.go`, the agent's conntrack
 * cleanup), across versions: v1.0.x logged through logr (some failures at level info, `"Failed to Attach Ingress TC
 * probe for"`), later versions through zap with `Errorf` (`"Map update(s) failed for podIdentifier %s error: %v"`).
 * Matching is on the message text, never the level, for that reason.
 */

export type AgentProblem =
  /** Writing policy rules or pod state into the eBPF maps failed: the pod runs with stale or no rules. */
  | 'map-update'
  /** Deleting maps, programs or conntrack entries failed: state leaks (file descriptors, pinned maps). */
  | 'map-delete'
  /** Probes could not be attached or loaded for a pod: its policies are not enforced. */
  | 'not-enforced'
  /** The agent could not recover its eBPF state or reach ipamd at start. */
  | 'startup';

export interface AgentMessage {
  /** Substring of the message, as written (also the line prefilter, so no `"` or `\`). */
  text: string;
  problem: AgentProblem;
}

export const AGENT_MESSAGES: readonly AgentMessage[] = [
  // bpf_client.go updateEbpfMap / updateClusterPolicyEbpfMap (v1.0: logged at info).
  { text: 'BPF map update failed', problem: 'map-update' },
  // rpc_handler.go EnforceNpToPod, bpf_client.go ReAttachEbpfProbes.
  { text: 'Map update(s) failed', problem: 'map-update' },
  // "Ingress Map update failed", "Egress Map update failed", "Cluster Policy Egress Map update failed",
  // "Ingress Pod State Map update failed".
  { text: 'Map update failed', problem: 'map-update' },
  { text: 'Pod State entry create failed', problem: 'map-update' },
  // aws-ebpf-sdk-go maps/loader.go, e.g. "... and err argument list too long" when a map is full (agent #484).
  { text: 'unable to create/update map entry', problem: 'map-update' },
  { text: 'Trie entry creation/validation failed', problem: 'map-update' },
  // deleteBPFProgramAndMaps: "Failed to delete the Program", "Failed to delete the Map", "... the cluster policy Map".
  { text: 'Failed to delete the', problem: 'map-delete' },
  { text: 'Failed to delete PodState Map', problem: 'map-delete' },
  { text: 'BPF programs and Maps delete failed', problem: 'map-delete' },
  { text: 'Error while deleting Ingress BPF Probe', problem: 'map-delete' },
  { text: 'Error while deleting Egress BPF Probe', problem: 'map-delete' },
  // Conntrack cleanup in ebpf-sdk.log; a flood of these came with the file descriptor leak of agent #131.
  { text: 'unable to delete map entry', problem: 'map-delete' },
  // Probe attach: "Failed to Attach Ingress TC probe for ...", "Failed to Attach Egress TC probe for ...".
  { text: 'Failed to Attach Ingress TC probe', problem: 'not-enforced' },
  { text: 'Failed to Attach Egress TC probe', problem: 'not-enforced' },
  { text: 'Ingress Attach failed', problem: 'not-enforced' },
  { text: 'Egress Attach failed', problem: 'not-enforced' },
  { text: 'Attaching eBPF probe failed', problem: 'not-enforced' },
  { text: 'Load BPF failed', problem: 'not-enforced' },
  { text: 'Skipping probe attach', problem: 'not-enforced' },
  // Pods left without maps while their policy claims them (aws/aws-network-policy-agent#183).
  { text: "Target Pod doesn't belong to the current pod Identifier", problem: 'not-enforced' },
  // Start-up and recovery (main.go, recoverBPFState).
  { text: 'Failed to recover the BPF state', problem: 'startup' },
  { text: 'BPF State Recovery failed', problem: 'startup' },
  { text: 'failed to recover global maps', problem: 'startup' },
  { text: 'Unable to load events binary', problem: 'startup' },
  { text: 'Failed to connect to ipamd', problem: 'startup' },
  { text: 'Failed to get network policy configs', problem: 'startup' },
  { text: 'Invalid Network Policy Mode', problem: 'startup' },
];

/** The agent's start-up lines: `starting manager` (every version), and v1.4+'s versioned line. */
export const AGENT_START_MESSAGES = ['starting manager', 'Starting network policy agent'] as const;

/** Lines that state whether network policy is on and in which mode. */
export const AGENT_MODE_MESSAGES = ['NetworkPolicyMode', 'Network Policy is enabled', 'Network Policy is disabled'];

export function classifyAgentMessage(msg: string): AgentMessage | undefined {
  return AGENT_MESSAGES.find((message) => msg.includes(message.text));
}

/**
 * The mode the agent got from ipamd: `Connected to ipamd at … NetworkPolicyMode: strict MultiNICEnabled: …` (v1.4+),
 * `Connected to ipamd grpc endpoint and got response for NetworkPolicyMode strict` (v1.2-v1.3).
 */
export function agentModeOf(msg: string): 'strict' | 'standard' | undefined {
  const match = /NetworkPolicyMode:?\s+(strict|standard)\b/.exec(msg);
  return match?.[1] === 'strict' || match?.[1] === 'standard' ? match[1] : undefined;
}

/** `Network Policy is enabled, registering …` / `Network Policy is disabled, skip …` at agent start. */
export function agentEnabledOf(msg: string): boolean | undefined {
  if (msg.startsWith('Network Policy is enabled')) return true;
  if (msg.startsWith('Network Policy is disabled')) return false;
  return undefined;
}

/** The `--enable-network-policy` flag of the aws-eks-nodeagent container (default false in the agent). */
export function enabledFromArgs(args: readonly string[]): boolean | undefined {
  for (const arg of args) {
    // A bare boolean flag means true (pflag).
    if (arg === '--enable-network-policy') return true;
    const match = /^--enable-network-policy=(\w+)$/.exec(arg);
    if (match) return match[1] === 'true';
  }
  return undefined;
}

/** `NETWORK_POLICY_ENFORCING_MODE` of the aws-node container (`standard` when unset in recent manifests). */
export function modeFromEnv(env: Readonly<Record<string, string>>): 'strict' | 'standard' | undefined {
  const value = env.NETWORK_POLICY_ENFORCING_MODE?.trim().toLowerCase();
  return value === 'strict' || value === 'standard' ? value : undefined;
}
