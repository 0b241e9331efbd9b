/**
 * The shape of one collected item. The inventory (agent/items/*.ts) is a table of these records: where each thing
 * comes from, where it goes in the bundle (a path from the bundle contract, never a literal), how long it may take,
 * how big it may be, and how valuable it is (write order). Nothing here runs anything; agent/sources/ does.
 */
import type { ItemId } from '../../contract/bundle.ts';

/** Where an item's bytes come from. Commands are argv arrays, never shell strings. */
export type ItemSource =
  /** A program's stdout (stderr is kept in the manifest's reason when it fails). */
  | { kind: 'command'; argv: readonly string[]; okExitCodes?: readonly number[] }
  /** A file under the node root (`--root`, default `/`). */
  | { kind: 'file'; path: string }
  /** Files matching a glob under the node root, concatenated with a `==> path <==` header each (like `tail`). */
  | { kind: 'glob'; pattern: string }
  /** A systemd journal unit ('' for the whole journal), read with journalctl from the node root's journal. */
  | { kind: 'journal'; unit: string; since?: string }
  /**
   * An HTTP GET on the node. `introspection:/v1/enis` and `metrics:/metrics` are resolved at run time against ipamd's
   * endpoints (127.0.0.1:61679, or INTROSPECTION_BIND_ADDRESS, which may be `unix:<socket>`; metrics on :61678).
   */
  | { kind: 'http'; url: string }
  /** Instance metadata through IMDSv2, from an allowlist (agent/sources/imds.ts); never credential paths. */
  | { kind: 'imds'; path: ImdsPath }
  /** Computed by the agent itself from other sources (e.g. iptables backend detection, cgroup throttling scan). */
  | { kind: 'derived'; name: string };

/**
 * The instance metadata the agent may read: single values, or `network-interfaces`, a JSON document of every
 * interface's allowlisted fields. Credential paths (`iam/security-credentials`, `identity-credentials`) are not in
 * this list and cannot be named.
 */
export type ImdsPath =
  | 'instance-id'
  | 'instance-type'
  | 'placement/region'
  | 'placement/availability-zone'
  | 'network-interfaces';

export interface CollectItem {
  /** Stable id: the manifest id, what rules `needs`, and what `--only`/`--skip` name. */
  id: ItemId | `${ItemId}:${string}`;
  /** Canonical bundle path from the contract. */
  out: string;
  source: ItemSource;
  /** Per-item time limit; a command past it is killed with its whole process group. */
  timeoutMs: number;
  /** Output budget: beyond it the item is cut (keeping the tail when `tail`) and marked truncated. */
  maxBytes: number;
  /** Keep the end rather than the start when over budget (logs: the newest lines matter most). */
  tail?: boolean;
  /** Write order: 1 is written first, so a bundle cut short still holds the most valuable items. */
  priority: number;
  /** Named redactors applied before anything is written (agent/redact/). All items get the generic ones. */
  redact?: readonly string[];
  /** One sentence: why support wants this item (shown in `collect --list` and the docs). */
  why: string;
}
