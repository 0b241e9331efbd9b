/**
 * The engine: reads one bundle in a single streaming pass, parses each interesting file once, fans the events out
 * to every rule that asked for them, and turns the rules' decisions into a report.
 */
import { createGunzip } from 'node:zlib';
import {
  type BundleManifest,
  bundlePaths,
  type ItemId,
  MANIFEST_PATH,
  type ManifestItem,
} from '../../contract/bundle.ts';
import { canonicalMemberPath, decideLayout, itemForPath } from '../bundle/layouts.ts';
import { type AnchorCache, LineSplitter, leadingNulEnd, looksBinary } from '../bundle/lines.ts';
import { type BundleVisitor, formatBytes, type MemberSink, readBundle } from '../bundle/source.ts';
import { parserFor } from '../inputs.ts';
import type { Emit, LineParser } from '../parsers/types.ts';
import type {
  BundleError,
  BundleLayout,
  Evidence,
  InventoryEntry,
  Report,
  RuleResult,
  Severity,
  Verdict,
} from '../report/model.ts';
import { REPORT_SCHEMA } from '../report/model.ts';
import { parseManifest } from './manifest.ts';
import { createIdentityCollector } from './node-identity.ts';
import {
  type FileRef,
  type FileSummary,
  formatMessage,
  type ItemState,
  type MessageData,
  type Outcome,
  type Rule,
  type RuleHandlers,
} from './rule.ts';
import { TOOL_NAME, TOOL_VERSION } from './version.ts';

export interface AnalyzeOptions {
  rules: readonly Rule[];
  /** Longest line handed to parsers; longer lines are cut and counted. */
  maxLineBytes?: number;
  /** Largest nested `.gz` member (rotated logs) decompressed, compressed size. */
  maxNestedGzipBytes?: number;
  /** How the input is named in the report (defaults to the path given). */
  sourceName?: string;
}

const DEFAULT_MAX_LINE_BYTES = 64 * 1024;
const DEFAULT_MAX_NESTED_GZIP_BYTES = 64 * 1024 * 1024;
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };
const VERDICT_RANK: Record<Verdict, number> = { fail: 0, pass: 1, 'not-evaluated': 2 };

/** A participant in the single pass: a rule, or the engine's own node-identity collector. */
interface Subscriber {
  handlers: RuleHandlers;
  filters: Partial<Record<string, readonly string[]>> | undefined;
  linesAfter?: Partial<Record<string, number>>;
  onError(error: unknown): void;
}

interface Decision {
  verdict: Verdict;
  messageId?: string;
  summary: string;
  outcome: Outcome;
}

interface ItemTracker {
  paths: string[];
  files: FileSummary[];
  damaged: boolean;
  unreadable: string[];
}

export async function analyzeBundle(input: string, options: AnalyzeOptions): Promise<Report> {
  const started = performance.now();
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const maxNestedGzip = options.maxNestedGzipBytes ?? DEFAULT_MAX_NESTED_GZIP_BYTES;
  const errors: BundleError[] = [];
  const inventory: InventoryEntry[] = [];
  const layoutHints = new Set<BundleLayout>();
  const items = new Map<ItemId, ItemTracker>();
  const seenCanonical = new Set<string>();
  let manifestText: string | undefined;
  let manifest: BundleManifest | undefined;
  const manifestItems = new Map<string, ManifestItem>();

  const itemState = (id: ItemId): ItemState => {
    const tracker = items.get(id);
    const collected = manifestItems.get(id);
    return {
      present: (tracker?.paths.length ?? 0) > 0,
      truncated: (tracker?.damaged ?? false) || collected?.status === 'truncated',
      collectedStatus: collected?.status,
      paths: tracker?.paths ?? [],
      files: tracker?.files ?? [],
    };
  };

  const identity = createIdentityCollector();
  const bundleView = {
    get manifest() {
      return manifest;
    },
    get node() {
      return identity.node(manifest);
    },
    item: itemState,
  };

  let otherResults: RuleResult[] | undefined;
  const inventoryView = () => inventory as readonly InventoryEntry[];

  // Rules and their decisions.
  const decisions = new Map<Rule, Decision>();
  const crashes = new Map<Rule, string>();
  const subscribers: Subscriber[] = [{ handlers: identity.handlers, filters: identity.filters, onError: () => {} }];
  const ruleHandlers = new Map<Rule, RuleHandlers>();
  for (const rule of options.rules) {
    const decide = (verdict: Verdict, messageId: string | undefined, data?: MessageData, outcome: Outcome = {}) => {
      const previous = decisions.get(rule);
      // A failure stands once made; a later pass must not hide it.
      if (previous?.verdict === 'fail' && verdict !== 'fail') return;
      const template = messageId === undefined ? undefined : (rule.meta.messages as Record<string, string>)[messageId];
      if (messageId !== undefined && template === undefined) {
        throw new Error(`rule ${rule.meta.id} used unknown message id ${messageId}`);
      }
      decisions.set(rule, {
        verdict,
        messageId,
        summary: template === undefined ? String(data?.reason ?? '') : formatMessage(template, data),
        outcome,
      });
    };
    const handlers = rule.create({
      fail: (id, data, outcome) => decide('fail', id, data, outcome),
      pass: (id, data, outcome) => decide('pass', id, data, outcome),
      notEvaluated: (reason) => decide('not-evaluated', undefined, { reason }),
      evidence: (file: FileRef, event, extra) => ({ path: file.path, line: event.line, text: event.raw, ...extra }),
      bundle: bundleView,
      otherResults: () => {
        if (!rule.meta.runsAfterOthers || !otherResults) {
          throw new Error(
            `rule ${rule.meta.id} read other rules' results without meta.runsAfterOthers, or before done()`,
          );
        }
        return otherResults;
      },
      inventory: inventoryView,
    });
    ruleHandlers.set(rule, handlers);
    subscribers.push({
      handlers,
      filters: rule.meta.filters as Partial<Record<string, readonly string[]>> | undefined,
      linesAfter: rule.meta.linesAfterMatch as Partial<Record<string, number>> | undefined,
      onError: (error) => {
        if (!crashes.has(rule)) crashes.set(rule, error instanceof Error ? error.message : String(error));
      },
    });
  }

  // Per item: who listens, and the union of their prefilters (undefined when anyone needs every line).
  const listeners = new Map<string, Subscriber[]>();
  for (const subscriber of subscribers) {
    for (const key of Object.keys(subscriber.handlers)) {
      if (key === 'done') continue;
      const list = listeners.get(key) ?? [];
      list.push(subscriber);
      listeners.set(key, list);
    }
  }
  const filtersFor = new Map<string, Buffer[] | undefined>();
  for (const [id, list] of listeners) {
    let union: Set<string> | undefined = new Set();
    for (const subscriber of list) {
      const own = subscriber.filters?.[id];
      if (!own) {
        union = undefined;
        break;
      }
      for (const text of own) union.add(text);
    }
    filtersFor.set(id, union ? [...union].map((text) => Buffer.from(text, 'utf8')) : undefined);
  }
  const anchorCaches = new Map<string, AnchorCache>();
  const anchorCacheFor = (id: string): AnchorCache => {
    let cache = anchorCaches.get(id);
    if (!cache) {
      cache = {};
      anchorCaches.set(id, cache);
    }
    return cache;
  };
  const linesAfterFor = new Map<string, number>();
  for (const [id, list] of listeners) {
    linesAfterFor.set(id, Math.max(0, ...list.map((subscriber) => subscriber.linesAfter?.[id] ?? 0)));
  }

  const track = (id: ItemId): ItemTracker => {
    let tracker = items.get(id);
    if (!tracker) {
      tracker = { paths: [], files: [], damaged: false, unreadable: [] };
      items.set(id, tracker);
    }
    return tracker;
  };

  const visitor: BundleVisitor = {
    error: (error) => errors.push(error),
    member(info) {
      const mapped = canonicalMemberPath(info.name);
      if (!mapped.ok) {
        errors.push({
          code: 'ENDIAG_UNSAFE_MEMBER_NAME',
          member: info.name,
          message: `member ignored: ${mapped.reason}`,
        });
        return undefined;
      }
      if (mapped.canonical === '') return undefined;
      if (mapped.layoutHint) layoutHints.add(mapped.layoutHint);
      const canonical = mapped.canonical;
      const entry: InventoryEntry = { path: canonical, bytes: 0, state: 'not-parsed' };
      if (canonical !== info.name && canonical !== info.name.replace(/^\.\//, '')) entry.member = info.name;
      inventory.push(entry);
      if (seenCanonical.has(canonical)) {
        errors.push({
          code: 'ENDIAG_DUPLICATE_MEMBER',
          member: info.name,
          message: `a second member maps to ${canonical}; both were read, evidence names the canonical path`,
        });
      }
      seenCanonical.add(canonical);

      if (canonical === MANIFEST_PATH) return manifestSink(entry, info.size);

      const isNestedGzip = canonical.endsWith('.gz');
      const id = itemForPath(canonical);
      if (id) entry.itemId = id;
      const parser = id ? parserFor(id) : undefined;
      const fileListeners = id ? listeners.get(id) : undefined;
      if (!id || !parser || !fileListeners) return countingSink(entry);

      const tracker = track(id);
      const file: FileRef = { path: canonical, item: id };
      // Year-less timestamps (journalctl `short`, syslog) take their year from when the file was written.
      const referenceTime = info.mtime && info.mtime.getTime() > 0 ? info.mtime.getTime() : undefined;
      const lineParser: LineParser<unknown> = parser.create(referenceTime ? { referenceTime } : undefined);
      let unparsed = 0;
      const emit: Emit<unknown> = (event) => {
        const kind = (event as { kind?: string }).kind;
        if (kind === 'unparsed') {
          unparsed++;
          return;
        }
        for (const subscriber of fileListeners) {
          const handler = (subscriber.handlers as Record<string, (event: unknown, file: FileRef) => void>)[id];
          try {
            handler?.(event, file);
          } catch (error) {
            subscriber.onError(error);
          }
        }
      };
      const splitter = new LineSplitter((text, line) => lineParser.push(text, line, emit), {
        maxLineBytes,
        filters: filtersFor.get(id),
        linesAfter: linesAfterFor.get(id),
        anchorCache: anchorCacheFor(id),
      });
      const finish = (truncated: boolean) => {
        splitter.end();
        lineParser.end?.(emit);
        entry.lines = splitter.lines;
        if (unparsed > 0) entry.unparsedLines = unparsed;
        if (splitter.longLines > 0) {
          entry.longLines = splitter.longLines;
          errors.push({
            code: 'ENDIAG_LONG_LINES',
            member: canonical,
            message: `${splitter.longLines} line(s) longer than ${formatBytes(maxLineBytes)} were cut at that length (evidence marks them)`,
          });
        }
        entry.state = truncated ? 'truncated' : 'read';
        tracker.paths.push(canonical);
        tracker.files.push({
          path: canonical,
          lines: splitter.lines,
          firstLine: splitter.firstLine,
          lastLine: splitter.lastLine,
          truncated,
        });
        if (truncated) tracker.damaged = true;
      };

      let checkedBinary = false;
      let binary = false;
      const feedText = (chunk: Buffer) => {
        if (binary) return;
        let text = chunk;
        if (!checkedBinary) {
          // A log truncated in place while its writer held it open (logrotate copytruncate) starts with a hole of NUL
          // bytes before the text goes on: skip the hole, then judge what follows.
          const firstData = leadingNulEnd(chunk);
          if (firstData === chunk.length) return;
          text = chunk.subarray(firstData);
          checkedBinary = true;
          if (looksBinary(text)) {
            binary = true;
            return;
          }
        }
        splitter.write(text);
      };
      const binaryFailure = () => {
        entry.state = 'skipped';
        tracker.unreadable.push(`${canonical} holds binary data, not text`);
        errors.push({
          code: 'ENDIAG_BINARY_CONTENT',
          member: canonical,
          message: 'binary content (NUL bytes) where text was expected; the file was not parsed',
        });
      };

      if (!isNestedGzip) {
        return {
          write(chunk) {
            entry.bytes += chunk.length;
            feedText(chunk);
          },
          end({ truncated }) {
            if (binary) binaryFailure();
            else finish(truncated);
          },
        } satisfies MemberSink;
      }

      // A rotated log compressed inside the archive: keep the compressed bytes (bounded), inflate at the end while
      // the archive waits, so memory stays bounded by the compressed size.
      const compressed: Buffer[] = [];
      let compressedBytes = 0;
      let tooLarge = false;
      return {
        write(chunk) {
          entry.bytes += chunk.length;
          if (tooLarge) return;
          compressedBytes += chunk.length;
          if (compressedBytes > maxNestedGzip) {
            tooLarge = true;
            compressed.length = 0;
            return;
          }
          compressed.push(Buffer.from(chunk));
        },
        async end({ truncated }) {
          if (tooLarge) {
            entry.state = 'skipped';
            errors.push({
              code: 'ENDIAG_MEMBER_TOO_LARGE',
              member: canonical,
              message: `compressed log of ${formatBytes(compressedBytes)} is over the ${formatBytes(maxNestedGzip)} limit for nested .gz members; not parsed`,
            });
            return;
          }
          let damagedInside = false;
          const gunzip = createGunzip();
          const done = (async () => {
            try {
              for await (const chunk of gunzip as AsyncIterable<Buffer>) feedText(chunk);
            } catch (error) {
              damagedInside = true;
              errors.push({
                code: 'ENDIAG_NESTED_GZIP_CORRUPT',
                member: canonical,
                message: `compressed log is damaged (${(error as Error).message}); the lines before the damage were read`,
              });
            }
          })();
          for (const part of compressed) gunzip.write(part);
          gunzip.end();
          await done;
          compressed.length = 0;
          if (binary) binaryFailure();
          else finish(truncated || damagedInside);
        },
      } satisfies MemberSink;
    },
  };

  function manifestSink(entry: InventoryEntry, declared: number): MemberSink {
    const parts: Buffer[] = [];
    let bytes = 0;
    return {
      write(chunk) {
        entry.bytes += chunk.length;
        if (bytes + chunk.length <= MAX_MANIFEST_BYTES) parts.push(Buffer.from(chunk));
        bytes += chunk.length;
      },
      end({ truncated }) {
        entry.state = truncated ? 'truncated' : 'read';
        if (bytes > MAX_MANIFEST_BYTES) {
          errors.push({
            code: 'ENDIAG_MANIFEST_INVALID',
            member: MANIFEST_PATH,
            message: `manifest is ${formatBytes(declared)}, over the ${formatBytes(MAX_MANIFEST_BYTES)} limit; ignored`,
          });
          return;
        }
        manifestText = Buffer.concat(parts).toString('utf8');
      },
    };
  }

  function countingSink(entry: InventoryEntry): MemberSink {
    return {
      write(chunk) {
        entry.bytes += chunk.length;
      },
      end({ truncated }) {
        entry.state = truncated ? 'truncated' : 'not-parsed';
      },
    };
  }

  const summary = await readBundle(input, visitor);

  if (manifestText !== undefined) {
    const parsed = parseManifest(manifestText);
    if (parsed.ok) {
      manifest = parsed.manifest;
      for (const item of manifest.items) manifestItems.set(item.id, item);
    } else {
      errors.push({ code: 'ENDIAG_MANIFEST_INVALID', member: MANIFEST_PATH, message: parsed.error });
    }
  }
  let layout = decideLayout(layoutHints);
  if (layout === 'eks-node-diag' && manifestText === undefined) {
    errors.push({
      code: 'ENDIAG_ARCHIVE_TRUNCATED',
      member: MANIFEST_PATH,
      message:
        'this is an eks-node-diag bundle without manifest.json: the agent was stopped before it finished; what it wrote is analyzed',
    });
  }
  if (layout === 'unknown' && inventory.length > 0) {
    errors.push({
      code: 'ENDIAG_UNKNOWN_LAYOUT',
      message:
        'no known bundle layout recognized (eks-node-diag, eks-log-collector.sh, aws-cni-support.sh); files were matched by path where possible',
    });
  }
  if (layout === 'unknown' && manifest) layout = 'eks-node-diag';

  // Collection statuses recorded by the agent join the inventory.
  const byPath = new Map(inventory.map((entry) => [entry.path, entry]));
  for (const item of manifestItems.values()) {
    const entry = byPath.get(item.path);
    if (entry) {
      entry.collectedStatus = item.status;
      if (item.reason) entry.collectedReason = item.reason;
    } else if (item.status !== 'ok') {
      inventory.push({
        path: item.path,
        itemId: item.id,
        bytes: 0,
        state: 'skipped',
        collectedStatus: item.status,
        collectedReason: item.reason,
      });
    }
  }

  // Rules that judge the other rules' outcomes (evidence coverage) decide last, with those results in hand.
  const finish = (subset: Rule[]): RuleResult[] => {
    for (const rule of subset) {
      try {
        ruleHandlers.get(rule)?.done?.();
      } catch (error) {
        if (!crashes.has(rule)) crashes.set(rule, error instanceof Error ? error.message : String(error));
      }
    }
    return subset.map((rule) =>
      finalize(rule, decisions.get(rule), crashes.get(rule), itemState, items, manifestItems, layout),
    );
  };
  otherResults = finish(options.rules.filter((rule) => !rule.meta.runsAfterOthers));
  const results = [...otherResults, ...finish(options.rules.filter((rule) => rule.meta.runsAfterOthers))];
  results.sort(
    (a, b) =>
      VERDICT_RANK[a.verdict] - VERDICT_RANK[b.verdict] ||
      (a.verdict === 'fail' ? SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] : 0) ||
      a.id.localeCompare(b.id),
  );

  const count = (predicate: (result: RuleResult) => boolean) => results.filter(predicate).length;
  return {
    schema: REPORT_SCHEMA,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    generatedAt: new Date().toISOString(),
    bundle: {
      source: options.sourceName ?? input,
      layout,
      ...(manifest
        ? {
            collector: {
              name: manifest.tool.name,
              version: manifest.tool.version,
              createdAt: manifest.createdAt,
              interrupted: manifest.interrupted,
            },
          }
        : {}),
      node: identity.node(manifest),
      errors,
      inventory,
      bytesRead: summary.bytesUnpacked,
      durationMs: Math.round(performance.now() - started),
    },
    summary: {
      critical: count((r) => r.verdict === 'fail' && r.severity === 'critical'),
      warning: count((r) => r.verdict === 'fail' && r.severity === 'warning'),
      info: count((r) => r.verdict === 'fail' && r.severity === 'info'),
      passed: count((r) => r.verdict === 'pass'),
      notEvaluated: count((r) => r.verdict === 'not-evaluated'),
      rules: results.length,
    },
    rules: results,
  };
}

/** Why an item cannot be used, in the words the report shows. */
function whyMissing(
  id: ItemId,
  items: Map<ItemId, ItemTracker>,
  manifestItems: Map<string, ManifestItem>,
  layout: BundleLayout,
): string {
  const path = bundlePaths[id];
  const collected = manifestItems.get(id);
  const tracker = items.get(id);
  if (tracker && tracker.unreadable.length > 0) return tracker.unreadable.join('; ');
  if (collected && collected.status !== 'ok' && collected.status !== 'truncated') {
    const detail = collected.reason ? `: ${collected.reason}` : '';
    return `${path} was not collected (${collected.status}${detail})`;
  }
  // Files of a folder item (var_log/aws-routed-eni/ipamd.log) answer to the folder's record when they have none.
  const folder = [...manifestItems.values()].find((item) => path.startsWith(`${item.path}/`) && item.status !== 'ok');
  if (!collected && folder) {
    return `${path} was not collected (${folder.status} for ${folder.path}${folder.reason ? `: ${folder.reason}` : ''})`;
  }
  if (layout === 'eks-node-diag' && manifestItems.size > 0 && !collected) {
    return `${path} is not in the bundle and the manifest has no record of it (run \`eks-node-diag collect\` without --only/--skip for it)`;
  }
  return `${path} is not in the bundle`;
}

function finalize(
  rule: Rule,
  decision: Decision | undefined,
  crash: string | undefined,
  itemState: (id: ItemId) => ItemState,
  items: Map<ItemId, ItemTracker>,
  manifestItems: Map<string, ManifestItem>,
  layout: BundleLayout,
): RuleResult {
  const meta = rule.meta;
  const inputIds = [
    ...meta.needs.flatMap((need) => (typeof need === 'string' ? [need] : need.anyOf)),
    ...(meta.uses ?? []),
  ];
  const base: RuleResult = {
    id: meta.id,
    title: meta.title,
    severity: meta.severity,
    verdict: 'not-evaluated',
    summary: '',
    evidence: [],
    facts: [],
    tables: [],
    remediation: [],
    caveats: [],
    references: [...meta.references],
    inputs: [...new Set(inputIds.map((id) => bundlePaths[id]))],
  };

  const unmet: string[] = [];
  const damaged: string[] = [];
  const partial: string[] = [];
  for (const need of meta.needs) {
    const options = typeof need === 'string' ? [need] : need.anyOf;
    const present = options.filter((id) => itemState(id).present);
    if (present.length === 0) {
      unmet.push(
        options.length === 1
          ? whyMissing(options[0] as ItemId, items, manifestItems, layout)
          : `none of ${options.map((id) => bundlePaths[id]).join(', ')} could be used (${options
              .map((id) => whyMissing(id, items, manifestItems, layout))
              .join('; ')})`,
      );
      continue;
    }
    for (const id of present) {
      const tracker = items.get(id);
      if (tracker?.damaged) damaged.push(`${bundlePaths[id]} was cut short by damage to the archive`);
      else if (manifestItems.get(id)?.status === 'truncated') {
        partial.push(`${bundlePaths[id]} holds only the part the agent kept within its size budget`);
      }
    }
  }

  if (crash !== undefined && decision?.verdict !== 'fail') {
    return {
      ...base,
      reason: `the rule stopped with an internal error: ${crash}; please report it`,
      summary: 'Rule error.',
    };
  }
  const fill = (verdict: Verdict, d: Decision, caveats: string[]): RuleResult => ({
    ...base,
    verdict,
    severity: verdict === 'fail' ? (d.outcome.severity ?? meta.severity) : meta.severity,
    messageId: d.messageId,
    summary: d.summary,
    evidence: d.outcome.evidence ?? [],
    facts: d.outcome.facts ?? [],
    tables: d.outcome.tables ?? [],
    remediation: verdict === 'fail' ? [...(d.outcome.remediation ?? []), ...meta.remediation] : [],
    ...(verdict === 'fail' ? { rationale: meta.description } : {}),
    caveats: [...(d.outcome.caveats ?? []), ...caveats],
  });

  if (decision?.verdict === 'fail') return fill('fail', decision, [...damaged, ...partial, ...unmet]);
  if (unmet.length > 0) {
    return { ...base, summary: `Not evaluated: ${unmet.join('; ')}.`, reason: unmet.join('; ') };
  }
  if (decision?.verdict === 'not-evaluated') {
    return { ...base, summary: `Not evaluated: ${decision.summary}`, reason: decision.summary };
  }
  if (decision?.verdict === 'pass') {
    if (damaged.length > 0) {
      const reason = `${damaged.join('; ')}, so the absence of a problem cannot be shown`;
      return { ...base, summary: `Not evaluated: ${reason}.`, reason, evidence: decision.outcome.evidence ?? [] };
    }
    return fill('pass', decision, partial);
  }
  const reason = 'the inputs were present but held nothing the rule could judge (no decision)';
  return { ...base, summary: `Not evaluated: ${reason}.`, reason };
}

export type { Evidence };
