/**
 * `eks-node-diag analyze`: reads each bundle once, runs the rule catalog, and writes the requested renderings.
 * Returns data; the CLI decides what to print and which exit code that means.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InputUnreadableError } from '../bundle/source.ts';
import { analyzeBundle } from '../engine/analyze-bundle.ts';
import type { Rule } from '../engine/rule.ts';
import { REPORTS_SCHEMA, type Report, type Severity } from '../report/model.ts';
import { rules as catalog } from '../rules/index.ts';

export interface AnalyzeOptions {
  inputs: string[];
  /** HTML report file; with several inputs, a folder that receives one report per input. */
  html?: string;
  /** JSON report file, or `-` for stdout. */
  json?: string;
  markdown?: string;
  failOn?: Severity;
  rules?: readonly Rule[];
}

export interface AnalyzeOutcome {
  reports: Report[];
  /** Inputs that could not be read at all, with the reason. */
  unreadable: { input: string; reason: string }[];
  written: { kind: 'html' | 'json' | 'markdown'; path: string }[];
  /** JSON text to print on stdout when `--json -` was asked for. */
  stdoutJson?: string;
  /** True when a finding is at or above `--fail-on`. */
  failedThreshold: boolean;
}

const SEVERITY_ORDER: Severity[] = ['critical', 'warning', 'info'];

export async function analyze(options: AnalyzeOptions): Promise<AnalyzeOutcome> {
  const analyzed: { input: string; report: Report }[] = [];
  const unreadable: AnalyzeOutcome['unreadable'] = [];
  for (const input of options.inputs) {
    try {
      const report = await analyzeBundle(input, {
        rules: options.rules ?? catalog,
        sourceName: input === '-' ? 'stdin' : basename(input),
      });
      const fatal = report.bundle.errors.find((error) => error.code === 'ENDIAG_NOT_AN_ARCHIVE');
      if (fatal && report.bundle.inventory.length === 0) unreadable.push({ input, reason: fatal.message });
      else analyzed.push({ input, report });
    } catch (error) {
      if (error instanceof InputUnreadableError) unreadable.push({ input, reason: error.message });
      else throw error;
    }
  }

  const written: AnalyzeOutcome['written'] = [];
  const readable = analyzed.map(({ report }) => report);
  const defaultHtml = !options.html && !options.json && !options.markdown;

  if (options.html || defaultHtml) {
    const { renderHtml } = await import('../report/html.ts');
    const targets = await htmlTargets(options.html, analyzed.length);
    for (const { input, report } of analyzed) {
      const target = targets(input, report);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, renderHtml(report));
      written.push({ kind: 'html', path: target });
    }
  }
  let stdoutJson: string | undefined;
  if (options.json) {
    const document = readable.length === 1 ? readable[0] : { schema: REPORTS_SCHEMA, reports: readable };
    const text = `${JSON.stringify(document, null, 2)}\n`;
    if (options.json === '-') stdoutJson = text;
    else {
      await writeFile(options.json, text);
      written.push({ kind: 'json', path: options.json });
    }
  }
  if (options.markdown) {
    const { renderMarkdown } = await import('../report/markdown.ts');
    await writeFile(options.markdown, readable.map((report) => renderMarkdown(report)).join('\n\n---\n\n'));
    written.push({ kind: 'markdown', path: options.markdown });
  }

  const threshold = options.failOn ? SEVERITY_ORDER.indexOf(options.failOn) : -1;
  const failedThreshold =
    threshold >= 0 &&
    readable.some((report) =>
      report.rules.some((rule) => rule.verdict === 'fail' && SEVERITY_ORDER.indexOf(rule.severity) <= threshold),
    );
  return { reports: readable, unreadable, written, stdoutJson, failedThreshold };
}

/** Where each HTML report goes: the named file, one file per input in the named folder, or beside the input. */
async function htmlTargets(
  html: string | undefined,
  count: number,
): Promise<(input: string, report: Report) => string> {
  // Beside the input; a report of standard input goes to the current folder.
  if (!html) {
    return (input) =>
      input === '-'
        ? resolve('eks-node-diag-stdin.report.html')
        : `${resolve(input).replace(/[\\/]+$/, '')}.report.html`;
  }
  const isFolder =
    count > 1 ||
    (await stat(html).then(
      (info) => info.isDirectory(),
      () => false,
    ));
  if (!isFolder) return () => html;
  return (_input, report) => join(html, `${report.bundle.source.replace(/[^\w.-]+/g, '_')}.report.html`);
}
