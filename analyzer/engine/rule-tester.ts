/**
 * RuleTester: rule tests as tables, in the manner of ESLint's RuleTester and hotsos's scenario tests. Each case is
 * a small inline file tree keyed by canonical bundle path (optionally with manifest statuses), run through the
 * real reader and engine, with the verdict expected and, for failures, the message id and evidence lines.
 *
 * The tester checks the cases too: names are unique, a fail case names at least one evidence line, message ids
 * exist in the rule's metadata, and a not-evaluated case says what its reason must mention.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLE_SCHEMA, bundlePaths, type ItemId, type ManifestItem } from '../../contract/bundle.ts';
import type { RuleResult, Severity } from '../report/model.ts';
import { analyzeBundle } from './analyze-bundle.ts';
import type { Rule } from './rule.ts';

export interface RuleCase {
  name: string;
  /** Bundle files keyed by canonical path. */
  files: Record<string, string>;
  /** Manifest records by item id; when given, a manifest.json is written (files get status ok by default). */
  manifest?: Partial<Record<ItemId, Partial<ManifestItem>>>;
  /** Extra checks on the result. */
  check?: (result: RuleResult) => void;
}

export interface FailCase extends RuleCase {
  messageId: string;
  severity?: Severity;
  /** Evidence lines that must be shown, as `path:line`. */
  evidence: string[];
}

export interface PassCase extends RuleCase {
  messageId: string;
  /** Evidence lines a pass must show ("why it passed"), as `path:line`. */
  evidence?: string[];
}

export interface NotEvaluatedCase extends RuleCase {
  /** Text the reason must contain (for example the missing path). */
  reason: string;
}

export interface RuleCases {
  pass: PassCase[];
  fail: FailCase[];
  notEvaluated: NotEvaluatedCase[];
}

/** Runs one rule over an inline file tree and returns its result. */
export async function runRuleOnFiles(
  rule: Rule,
  files: Record<string, string>,
  manifest?: RuleCase['manifest'],
): Promise<RuleResult> {
  const root = await mkdtemp(join(tmpdir(), 'rule-case-'));
  try {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), content);
    }
    if (manifest) {
      const items: ManifestItem[] = [];
      const idByPath = new Map<string, string>(Object.entries(bundlePaths).map(([id, path]) => [path, id]));
      for (const path of Object.keys(files)) {
        const id = idByPath.get(path) ?? path;
        items.push({ id, path, source: 'test', status: 'ok', ...manifest[id as ItemId] });
      }
      for (const [id, record] of Object.entries(manifest)) {
        if (!items.some((item) => item.id === id)) {
          items.push({ id, path: bundlePaths[id as ItemId], source: 'test', status: 'ok', ...record });
        }
      }
      const document = {
        schema: BUNDLE_SCHEMA,
        tool: { name: 'eks-node-diag', version: 'test' },
        createdAt: '2026-11-20T10:00:00Z',
        node: {},
        parameters: {},
        items,
      };
      await writeFile(join(root, 'manifest.json'), JSON.stringify(document));
    }
    const report = await analyzeBundle(root, { rules: [rule] });
    const result = report.rules[0];
    if (!result) throw new Error('the engine returned no result');
    return result;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function evidenceKeys(result: RuleResult): string[] {
  return result.evidence.map((evidence) => `${evidence.path}:${evidence.line ?? ''}`);
}

export function ruleTester(rule: Rule, cases: RuleCases): void {
  const names = [...cases.pass, ...cases.fail, ...cases.notEvaluated].map((c) => c.name);
  const messageIds = Object.keys(rule.meta.messages);

  describe(`rule ${rule.meta.id}`, () => {
    it('has well-formed cases and metadata', () => {
      expect(new Set(names).size, 'duplicate case names').toBe(names.length);
      expect(cases.pass.length, 'at least one pass case').toBeGreaterThan(0);
      expect(cases.fail.length, 'at least one fail case').toBeGreaterThan(0);
      expect(cases.notEvaluated.length, 'at least one not-evaluated case').toBeGreaterThan(0);
      for (const c of [...cases.fail, ...cases.pass]) expect(messageIds).toContain(c.messageId);
      for (const c of cases.fail) expect(c.evidence.length, `${c.name}: a fail case names evidence`).toBeGreaterThan(0);
      expect(rule.meta.remediation.length, 'remediation steps').toBeGreaterThan(0);
      expect(rule.meta.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    });

    for (const c of cases.fail) {
      it(`fails: ${c.name}`, async () => {
        const result = await runRuleOnFiles(rule, c.files, c.manifest);
        expect(result.verdict, result.reason ?? result.summary).toBe('fail');
        expect(result.messageId).toBe(c.messageId);
        if (c.severity) expect(result.severity).toBe(c.severity);
        expect(evidenceKeys(result)).toEqual(expect.arrayContaining(c.evidence));
        expect(result.summary).not.toMatch(/\{\{/);
        c.check?.(result);
      });
    }
    for (const c of cases.pass) {
      it(`passes: ${c.name}`, async () => {
        const result = await runRuleOnFiles(rule, c.files, c.manifest);
        expect(result.verdict, result.reason ?? result.summary).toBe('pass');
        expect(result.messageId).toBe(c.messageId);
        expect(result.evidence.length + result.facts.length, 'a pass shows what it rests on').toBeGreaterThan(0);
        if (c.evidence) expect(evidenceKeys(result)).toEqual(expect.arrayContaining(c.evidence));
        expect(result.summary).not.toMatch(/\{\{/);
        c.check?.(result);
      });
    }
    for (const c of cases.notEvaluated) {
      it(`is not evaluated: ${c.name}`, async () => {
        const result = await runRuleOnFiles(rule, c.files, c.manifest);
        expect(result.verdict, result.summary).toBe('not-evaluated');
        expect(result.reason).toContain(c.reason);
        c.check?.(result);
      });
    }
  });
}
