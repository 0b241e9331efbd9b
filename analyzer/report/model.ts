/**
 * The report model: one structure, rendered three ways (HTML, JSON, Markdown) plus a terminal summary.
 * The JSON rendering is this model as it stands, so field names here are the automation contract
 * `eks-node-diag/report@1`. Everything that came from a bundle is untrusted text: renderers escape it.
 */
import type { ItemStatus, NodeIdentity } from '../../contract/bundle.ts';

export const REPORT_SCHEMA = 'eks-node-diag/report@1';
export const REPORTS_SCHEMA = 'eks-node-diag/reports@1';

export type Severity = 'critical' | 'warning' | 'info';
export type Verdict = 'fail' | 'pass' | 'not-evaluated';

/** One line of evidence, exactly as it stands in the bundle. `line` is 1-based; absent for whole-file facts. */
export interface Evidence {
  path: string;
  line?: number;
  text: string;
  /** Timestamp of the line as written in the file, when it has one. */
  time?: string;
  /** Marks the line(s) the finding is about, as opposed to context lines shown around them. */
  highlight?: boolean;
  /** A note shown beside the evidence, e.g. `27 more like this` or `absent: expected ExecStartPre`. */
  note?: string;
}

/** An observed value a verdict rests on, shown as a label/value pair ("Load average (1m)": "7.9 on 2 CPUs"). */
export interface Fact {
  label: string;
  value: string;
  /** Where the value was seen. */
  path?: string;
  line?: number;
}

/** A table a rule wants shown with its finding (e.g. probe failures per pod/container/probe type). */
export interface FindingTable {
  caption: string;
  columns: string[];
  rows: string[][];
}

export interface Reference {
  title: string;
  url: string;
}

export interface RuleResult {
  id: string;
  title: string;
  /** Severity of the outcome: for a fail, how bad this finding is; otherwise the rule's default severity. */
  severity: Severity;
  verdict: Verdict;
  /** Message id from the rule's metadata that produced this outcome (stable, for automation and tests). */
  messageId?: string;
  /** One or two sentences: what was found (fail), what shows it is fine (pass), or why it was not judged. */
  summary: string;
  /** Why the finding matters to the node (from the rule's metadata), shown as "Why it matters" on a fail. */
  rationale?: string;
  evidence: Evidence[];
  facts: Fact[];
  tables: FindingTable[];
  /** What to do, as ordered steps; shell commands are in backticks. Empty for passes. */
  remediation: string[];
  /** For not-evaluated: which input was missing, truncated or failed, and how to get it. */
  reason?: string;
  /** Notes on the quality of the evidence (e.g. an input was cut short, only the tail was collected). */
  caveats: string[];
  references: Reference[];
  /** Bundle paths the rule reads, for the "inputs" line under each rule. */
  inputs: string[];
}

export type BundleErrorCode =
  | 'ENDIAG_NOT_AN_ARCHIVE'
  | 'ENDIAG_GZIP_CORRUPT'
  | 'ENDIAG_ARCHIVE_TRUNCATED'
  | 'ENDIAG_TAR_CORRUPT'
  | 'ENDIAG_UNSAFE_MEMBER_NAME'
  | 'ENDIAG_LINK_MEMBER'
  | 'ENDIAG_SPECIAL_MEMBER'
  | 'ENDIAG_MEMBER_TOO_LARGE'
  | 'ENDIAG_BINARY_CONTENT'
  | 'ENDIAG_LONG_LINES'
  | 'ENDIAG_NESTED_GZIP_CORRUPT'
  | 'ENDIAG_MANIFEST_INVALID'
  | 'ENDIAG_UNREADABLE_FILE'
  | 'ENDIAG_DUPLICATE_MEMBER'
  | 'ENDIAG_UNKNOWN_LAYOUT';

/** Something wrong with the bundle itself. Never fatal to the report: the good entries are still analyzed. */
export interface BundleError {
  code: BundleErrorCode;
  /** Archive member or file the problem is in, as it stands in the archive (escaped by renderers). */
  member?: string;
  message: string;
}

/** One file of the bundle, as the report's inventory shows it. */
export interface InventoryEntry {
  /** Canonical path (the stock collector's path), or the member name when the file is not a known item. */
  path: string;
  /** The member name as it stands in the archive, when it differs from the canonical path. */
  member?: string;
  itemId?: string;
  bytes: number;
  lines?: number;
  /** How the file was read: fully, cut short by archive damage, or skipped (with the error code). */
  state: 'read' | 'truncated' | 'skipped' | 'not-parsed';
  /** Status recorded by our agent's manifest, when there is one. */
  collectedStatus?: ItemStatus;
  collectedReason?: string;
  unparsedLines?: number;
  longLines?: number;
}

export type BundleLayout = 'eks-node-diag' | 'eks-log-collector' | 'aws-cni-support-legacy' | 'unknown';

export interface ReportSummary {
  critical: number;
  warning: number;
  info: number;
  passed: number;
  notEvaluated: number;
  /** Number of rules run. */
  rules: number;
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  tool: { name: string; version: string };
  generatedAt: string;
  bundle: {
    /** The input as given on the command line (file or folder name). */
    source: string;
    layout: BundleLayout;
    /** Our agent's schema and version when the bundle has a manifest. */
    collector?: { name: string; version: string; createdAt?: string; interrupted?: boolean };
    node: NodeIdentity;
    errors: BundleError[];
    inventory: InventoryEntry[];
    bytesRead: number;
    durationMs: number;
  };
  summary: ReportSummary;
  /** Fails first (critical, warning, info), then passes, then not-evaluated; each group ordered by rule id. */
  rules: RuleResult[];
}

export interface ReportSet {
  schema: typeof REPORTS_SCHEMA;
  reports: Report[];
}
