/**
 * The rule pattern, in the spirit of ESLint's rule modules: a rule is `{ meta, create }`. `meta` is data (id,
 * title, severity, the items it needs, substring prefilters, messages, remediation, references); `create(ctx)`
 * returns handlers keyed by item id that receive parsed events, plus `done()` where the rule decides.
 *
 * A rule says `fail` or `pass`. `not-evaluated` is mostly the engine's job: it is assigned when a needed item is
 * missing, failed to collect, or was cut short, with the reason — a rule never has to guess what "no events" means.
 */
import type { BundleManifest, ItemId, ItemStatus, NodeIdentity } from '../../contract/bundle.ts';
import type { ItemEvent, ParsedItemId } from '../inputs.ts';
import type { Evidence, Fact, FindingTable, InventoryEntry, Reference, RuleResult, Severity } from '../report/model.ts';

/** An item the rule cannot do without, or a set of items any one of which will do. */
export type Requirement = ParsedItemId | { anyOf: readonly ParsedItemId[] };

export interface RuleMeta<M extends string = string> {
  /** Stable kebab-case id; equals the file name. */
  id: string;
  title: string;
  /** Severity of a failure unless the rule raises or lowers it for a particular finding. */
  severity: Severity;
  /** One or two sentences: what the rule checks and why it matters on an EKS node. */
  description: string;
  /** Items without which the rule cannot pass (any one of an `anyOf`). */
  needs: readonly Requirement[];
  /** Items read when present, never required. */
  uses?: readonly ParsedItemId[];
  /**
   * Substrings that a line of a log item must contain for this rule to see it. Items listed here are scanned as raw
   * bytes and only matching lines are decoded and parsed; items not listed deliver every line.
   */
  filters?: Partial<Record<ParsedItemId, readonly string[]>>;
  /**
   * Lines to hand over after each line that passed a filter, per item: a klog multi-line value (`output=<`) continues
   * on the following journal lines, which hold none of the filter strings.
   */
  linesAfterMatch?: Partial<Record<ParsedItemId, number>>;
  /** Message templates by id, with `{{name}}` placeholders filled from the data passed with a verdict. */
  messages: Record<M, string>;
  /** What to do about a failure, as ordered steps; commands in backticks. */
  remediation: readonly string[];
  references: readonly Reference[];
  /** The rule judges the other rules' outcomes (e.g. evidence coverage): its `done()` runs after theirs. */
  runsAfterOthers?: boolean;
}

export interface FileRef {
  /** Canonical path of the file in the bundle. */
  path: string;
  item: ItemId;
}

export interface Outcome {
  evidence?: Evidence[];
  facts?: Fact[];
  tables?: FindingTable[];
  /** Overrides the rule's default severity for this failure. */
  severity?: Severity;
  /** Extra remediation steps specific to what was found, shown before the rule's general ones. */
  remediation?: string[];
  caveats?: string[];
}

export type MessageData = Record<string, string | number>;

/** What a rule can see of an item's state once the bundle has been read (in `done`). */
export interface ItemState {
  /** At least one file of the item was read (possibly cut short). */
  present: boolean;
  /** A file of the item was cut short by archive damage, or the collector kept only part of it. */
  truncated: boolean;
  /** The status our agent's manifest recorded, when there is a manifest. */
  collectedStatus?: ItemStatus;
  paths: string[];
  files: FileSummary[];
}

/** What the engine saw of one file, whether or not its lines passed a rule's prefilter. */
export interface FileSummary {
  path: string;
  lines: number;
  /** First and last line of the file (capped at 4 KiB): for a log, the window it covers. */
  firstLine?: string;
  lastLine?: string;
  truncated: boolean;
}

export interface RuleContext<M extends string> {
  fail(messageId: M, data?: MessageData, outcome?: Outcome): void;
  pass(messageId: M, data?: MessageData, outcome?: Outcome): void;
  /** For a rule that sees it cannot judge beyond what the engine checks (e.g. the file holds no usable data). */
  notEvaluated(reason: string): void;
  /** Evidence for an event of a file, as the report shows it. */
  evidence(file: FileRef, event: { line: number; raw: string }, extra?: Partial<Evidence>): Evidence;
  /** In `done()` of a rule with `meta.runsAfterOthers`: every other rule's final result. */
  otherResults(): readonly RuleResult[];
  /** In `done()`: every file of the bundle as the report's inventory lists it. */
  inventory(): readonly InventoryEntry[];
  /** Available in `done()`: the manifest (our bundles), node identity, and each item's state. */
  readonly bundle: {
    readonly manifest: BundleManifest | undefined;
    readonly node: NodeIdentity;
    item(id: ItemId): ItemState;
  };
}

export type RuleHandlers = {
  [K in ParsedItemId]?: (event: ItemEvent<K>, file: FileRef) => void;
} & {
  /** Called once after the whole bundle has been read. */
  done?: () => void;
};

export interface Rule<M extends string = string> {
  meta: RuleMeta<M>;
  create(ctx: RuleContext<M>): RuleHandlers;
}

/** Identity function that gives a rule file its types (message ids checked against `meta.messages`). */
export function defineRule<M extends string>(rule: Rule<M>): Rule<M> {
  return rule;
}

/** Fills `{{name}}` placeholders; a missing value stays visible as `{{name}}` so tests catch it. */
export function formatMessage(template: string, data: MessageData = {}): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, name: string) => (name in data ? String(data[name]) : whole));
}
