/**
 * Opens fleet indexes in Chromium: three real nodes (healthy, FORWARD DROP, unreachable), a hostile fleet and a
 * synthetic fleet of 200. The index must load nothing, run nothing, draw one matrix cell per node and rule, keep
 * hostile instance ids and errors as text, and stay usable at 200 nodes (large groups folded). Screenshots land in
 * test-artifacts/ for a human to look at.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeBundle } from '../../analyzer/engine/analyze-bundle.ts';
import { hostileReport, hostileStrings } from '../../analyzer/report/fixtures.ts';
import {
  buildFleetModel,
  type FleetEntry,
  type FleetModel,
  GROUP_PREVIEW_ROWS,
  LARGE_GROUP,
  renderFleetHtml,
} from '../../analyzer/report/fleet.ts';
import { renderHtml } from '../../analyzer/report/html.ts';
import type { Report } from '../../analyzer/report/model.ts';
import { rules } from '../../analyzer/rules/index.ts';
import { chromiumAvailable, launchChromium, type PageWatch, watchPage } from './chromium.ts';

const artifacts = join(import.meta.dirname, '../../test-artifacts');
const bundles = join(import.meta.dirname, '../../samples/bundles');
const GENERATED_AT = '2026-11-26T10:30:00.000Z';

async function analyzeSample(name: string): Promise<Report> {
  return analyzeBundle(join(bundles, `${name}.tar.gz`), { rules, sourceName: `${name}.tar.gz` });
}

interface Samples {
  healthy: Report;
  forwardDrop: Report;
  starved: Report;
  stock: Report;
}

/** A copy of `report` as if it came from another node. */
function asNode(report: Report, instanceId: string, identity: Partial<Report['bundle']['node']> = {}): Report {
  const copy = structuredClone(report);
  copy.bundle.node = { ...copy.bundle.node, instanceId, ...identity };
  copy.bundle.source = `${instanceId}.tar.gz`;
  return copy;
}

/** An instance id of the real shape: `i-` and 17 hex digits. */
function hexId(n: number): string {
  return `i-0${(0xa1b2c3d4e5f60000 + n).toString(16).slice(-16).padStart(16, '0')}`;
}

/**
 * 200 nodes as a real cluster looks after a rollout half done: most on the current AMI, a few left on the previous
 * one, three with an older VPC CNI, one custom-AMI node with a different kernel, stock-collector bundles that lack
 * the AMI id, and four nodes the dispatch could not collect from.
 */
function syntheticFleet(samples: Samples): FleetEntry[] {
  const current = {
    amiId: 'ami-0c9e5d1a2b3f47a86',
    kernel: '6.1.128-136.201.amzn2023.x86_64',
    kubeletVersion: 'v1.31.5-eks-5d4a308',
    vpcCniVersion: 'v1.19.2-eksbuild.1',
  };
  const entries: FleetEntry[] = [];
  const add = (template: Report, identity: Partial<Report['bundle']['node']>, index: number) => {
    const instanceId = hexId(0x5a3c0000 + index * 7919);
    const report = asNode(template, instanceId, {
      ...current,
      hostname: `ip-10-0-${Math.floor(index / 250)}-${index % 250}.us-west-2.compute.internal`,
      ...identity,
    });
    entries.push({
      instanceId,
      status: 'Success',
      report,
      reportHref: `nodes/${instanceId}.html`,
      bundleHref: `bundles/${instanceId}.tar.gz`,
      durationMs: 41_000 + ((index * 3301) % 90_000),
      bundleBytes: 3_200_000 + ((index * 104_729) % 9_000_000),
    });
  };
  let index = 0;
  for (let n = 0; n < 172; n++) add(n % 19 === 3 ? samples.starved : samples.healthy, {}, index++);
  const previousAmi = { amiId: 'ami-08f1e2d3c4b5a6978', kernel: '6.1.119-129.201.amzn2023.x86_64' };
  for (let n = 0; n < 14; n++) add(n === 0 ? samples.starved : samples.healthy, previousAmi, index++);
  for (let n = 0; n < 3; n++) add(samples.healthy, { vpcCniVersion: 'v1.18.3-eksbuild.1' }, index++);
  add(samples.forwardDrop, { amiId: 'ami-0e4b2d6f8a1c3e5b7', kernel: '6.1.130-139.222.amzn2023.x86_64' }, index++);
  for (let n = 0; n < 6; n++) add(samples.stock, { amiId: undefined }, index++);
  const failures: [status: string, error: string][] = [
    ['TimedOut', 'The command did not finish within 15m; the agent was still collecting.'],
    ['TimedOut', 'The command did not finish within 15m; the agent was still collecting.'],
    ['Undeliverable', 'The instance is not reachable: its SSM agent is ConnectionLost.'],
    [
      'agent-unsupported',
      'glibc 2.26 is older than 2.28, which the agent needs (Amazon Linux 2): run eks-log-collector.sh.',
    ],
  ];
  for (const [status, error] of failures) {
    entries.push({ instanceId: hexId(0x7f000000 + index++ * 131), status, error, durationMs: 900_000 });
  }
  return entries;
}

async function injectedMarkup(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const found: string[] = [];
    for (const element of document.querySelectorAll('*')) {
      const tag = element.tagName.toLowerCase();
      if (['script', 'img', 'iframe', 'object', 'embed', 'link', 'base', 'form'].includes(tag)) found.push(tag);
      if (tag === 'svg' && !element.classList.contains('bar')) found.push('svg');
      for (const attribute of element.getAttributeNames()) {
        if (attribute.startsWith('on') || attribute === 'style') found.push(`${tag}[${attribute}]`);
      }
    }
    return found;
  });
}

function expectQuiet(watch: PageWatch, url: string): void {
  expect(watch.requests).toEqual([url]);
  expect(watch.failedRequests).toEqual([]);
  expect(watch.consoleErrors).toEqual([]);
  expect(watch.pageErrors).toEqual([]);
  expect(watch.dialogs).toEqual([]);
}

/** Every link on the page: in-page anchors, or relative links to files beside the index. */
async function hrefs(page: Page): Promise<string[]> {
  return page.$$eval('a[href]', (links) => links.map((link) => link.getAttribute('href') ?? ''));
}

describe.skipIf(!chromiumAvailable())('fleet index in Chromium', () => {
  let browser: Browser;
  let samples: Samples;

  beforeAll(async () => {
    mkdirSync(join(artifacts, 'fleet-nodes'), { recursive: true });
    const [healthy, forwardDrop, starved, stock] = await Promise.all(
      ['healthy-node', 'forward-drop-custom-ami', 'aws-node-cpu-starvation', 'stock-eks-log-collector'].map(
        analyzeSample,
      ),
    );
    if (!healthy || !forwardDrop || !starved || !stock) throw new Error('a sample bundle did not analyze');
    samples = { healthy, forwardDrop, starved, stock };
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function open(name: string, html: string) {
    const file = join(artifacts, `${name}.html`);
    writeFileSync(file, html);
    const url = pathToFileURL(file).href;
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, serviceWorkers: 'block' });
    const page = await context.newPage();
    const watch = await watchPage(page, url);
    await page.goto(url, { waitUntil: 'load' });
    return { page, watch, url };
  }

  describe('three nodes: healthy, FORWARD DROP, unreachable', () => {
    let page: Page;
    let watch: PageWatch;
    let url: string;
    let model: FleetModel;
    let entries: FleetEntry[];

    beforeAll(async () => {
      const healthy = samples.healthy;
      const forwardDrop = samples.forwardDrop;
      // Statuses as the dispatcher writes them (the 200-node fleet uses SSM's own words).
      entries = [
        {
          instanceId: healthy.bundle.node.instanceId ?? 'i-healthy',
          status: 'ok',
          report: healthy,
          durationMs: 48_200,
          bundleBytes: 3_481_022,
        },
        {
          instanceId: forwardDrop.bundle.node.instanceId ?? 'i-forward-drop',
          status: 'ok',
          report: forwardDrop,
          durationMs: 61_900,
          bundleBytes: 4_102_771,
        },
        {
          instanceId: 'i-0e7c2a9b4d6f81035',
          status: 'undeliverable',
          error: 'The instance is not reachable: its SSM agent is ConnectionLost (last ping 2026-11-26 09:58 UTC).',
        },
      ];
      for (const entry of entries) {
        if (!entry.report) continue;
        entry.reportHref = `fleet-nodes/${entry.instanceId}.html`;
        writeFileSync(join(artifacts, entry.reportHref), renderHtml(entry.report));
      }
      model = buildFleetModel(entries, { target: 'cluster prod-eu', generatedAt: GENERATED_AT });
      ({ page, watch, url } = await open('fleet', renderFleetHtml(model)));
    });

    afterAll(async () => {
      await page?.context().close();
    });

    it('loads nothing but itself and raises no error or dialog', () => {
      expectQuiet(watch, url);
    });

    it('applies its stylesheet under the Content-Security-Policy', async () => {
      expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(244, 245, 247)');
      const stickyNode = await page.$eval('.grid tbody th.node', (cell) => getComputedStyle(cell).position);
      expect(stickyNode).toBe('sticky');
    });

    it('draws one cell per analyzed node and rule, and one message row per node without a report', async () => {
      const rowCells = await page.$$eval('tr[data-node-row]', (rows) =>
        rows.map((row) => ({
          cells: row.querySelectorAll('td.c').length,
          nodata: row.querySelectorAll('td.nodata').length,
          name: row.querySelector('th .mono')?.textContent,
        })),
      );
      expect(rowCells).toHaveLength(3);
      expect(await page.$$eval('td.c', (cells) => cells.length)).toBe(2 * rules.length);
      expect(rowCells[0]).toEqual({ cells: 0, nodata: 1, name: 'i-0e7c2a9b4d6f81035' });
      expect(rowCells.slice(1).map((row) => row.cells)).toEqual([rules.length, rules.length]);
      expect(await page.$$eval('.mhead th.rh', (headers) => headers.length)).toBe(rules.length);
    });

    it('puts the unreachable node first and the failing FORWARD policy in the first column', async () => {
      const groups = await page.$$eval('section.group .g-head', (heads) => heads.map((head) => head.textContent));
      expect(groups[0]).toContain('Nodes without a report');
      expect(await page.$eval('td.nodata', (cell) => cell.textContent)).toContain('undeliverable');
      const firstColumn = await page.$eval('.mhead th.rh', (header) => header.textContent);
      expect(firstColumn).toBe(model.columns[0]?.ruleId);
      const dropCell = await page.$eval(`#node-${samples.forwardDrop.bundle.node.instanceId} td.c.f.crit`, (cell) =>
        cell.querySelector('a')?.getAttribute('href'),
      );
      expect(dropCell).toBe(`fleet-nodes/${samples.forwardDrop.bundle.node.instanceId}.html#rule-forward-policy-drop`);
    });

    it('shows the fleet counts of the model', async () => {
      const counts = await page.$$eval('[data-summary-key]', (items) =>
        Object.fromEntries(
          items.map((item) => [
            item.getAttribute('data-summary-key'),
            Number(item.querySelector('.count')?.textContent),
          ]),
        ),
      );
      const { outcomes } = model.summary;
      expect(counts).toEqual({
        critical: outcomes.critical,
        warning: outcomes.warning,
        info: outcomes.info,
        clean: outcomes.clean,
        noReport: outcomes['no-report'],
      });
      expect(counts).toEqual({ critical: 1, warning: 1, info: 0, clean: 0, noReport: 1 });
    });

    it('links only within the page or to node reports that exist and hold the anchor', async () => {
      for (const href of await hrefs(page)) {
        if (href.startsWith('#')) {
          expect(await page.$(`[id="${href.slice(1)}"]`), href).not.toBeNull();
          continue;
        }
        const [file, fragment] = href.split('#') as [string, string | undefined];
        expect(file).toMatch(/^fleet-nodes\/i-[0-9a-f]+\.html$/);
        const target = readFileSync(join(artifacts, file), 'utf8');
        if (fragment !== undefined) expect(target).toContain(`id="${fragment}"`);
      }
    });

    it('creates no element or handler from node text, and fits the window', async () => {
      expect(await injectedMarkup(page)).toEqual([]);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
    });

    it('saves screenshots and prints landscape with the column headings in each group', async () => {
      await page.screenshot({ path: join(artifacts, 'fleet.png'), fullPage: true });
      await page.locator('#matrix').screenshot({ path: join(artifacts, 'fleet.matrix.png') });
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.locator('#matrix').screenshot({ path: join(artifacts, 'fleet.matrix.dark.png') });
      await page.emulateMedia({ colorScheme: 'light' });
      await page.emulateMedia({ media: 'print' });
      try {
        expect(await page.$eval('.mhead', (element) => element.checkVisibility())).toBe(false);
        const headings = await page.$$eval('.group .gh', (heads) => heads.map((head) => head.checkVisibility()));
        expect(headings.length).toBeGreaterThan(0);
        expect(headings.every(Boolean)).toBe(true);
        await page.screenshot({ path: join(artifacts, 'fleet.print.png'), fullPage: true });
        const pdf = await page.pdf({ printBackground: true, preferCSSPageSize: true });
        writeFileSync(join(artifacts, 'fleet.pdf'), pdf);
        expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
      } finally {
        await page.emulateMedia({ media: 'screen' });
      }
    });
  });

  describe('a hostile fleet', () => {
    const h = hostileStrings;
    let page: Page;
    let watch: PageWatch;
    let url: string;

    beforeAll(async () => {
      const hostile = hostileReport();
      hostile.bundle.node.amiId = h.attributeBreak;
      const entries: FleetEntry[] = [
        { instanceId: h.img, status: h.script, error: `${h.templateBlock} ${h.ansi} ${h.markdownLink}` },
        {
          instanceId: `i-${h.attributeBreak}`,
          status: 'Success',
          report: hostile,
          reportHref: 'javascript:alert(1)',
          bundleHref: '//evil.example/bundle.tar.gz',
        },
        {
          instanceId: h.template,
          status: 'Success',
          report: asNode(samples.healthy, h.template),
          reportHref: 'java\tscript:alert(1)',
          bundleHref: 'data:text/html,<script>alert(1)</script>',
        },
      ];
      const model = buildFleetModel(entries, { target: h.script, generatedAt: GENERATED_AT });
      ({ page, watch, url } = await open('fleet-hostile', renderFleetHtml(model)));
    });

    afterAll(async () => {
      await page?.context().close();
    });

    it('loads nothing, runs nothing and creates no element from node text', async () => {
      expectQuiet(watch, url);
      expect(await injectedMarkup(page)).toEqual([]);
    });

    it('shows hostile instance ids, statuses and errors as text', async () => {
      const text = await page.evaluate(() => document.body.textContent ?? '');
      for (const value of [h.img, h.script, h.templateBlock, h.markdownLink, `i-${h.attributeBreak}`, h.template]) {
        expect(text).toContain(value);
      }
      expect(text).toContain('\\x1b[2J\\x1b[H\\x1b[31mRED\\x1b[0m');
      // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
      expect(text).not.toMatch(/[\u001b\u009b\u202e]/);
      expect(await page.title()).toContain(h.script);
      const noReport = await page.$eval('td.nodata', (cell) => cell.textContent ?? '');
      expect(noReport).toContain(h.script);
      expect(noReport).toContain(h.templateBlock);
    });

    it('renders links that are not relative as text', async () => {
      const links = await hrefs(page);
      expect(links.filter((href) => !href.startsWith('#'))).toEqual([]);
      const text = await page.evaluate(() => document.body.textContent ?? '');
      expect(text).toContain('javascript:alert(1)');
      expect(text).toContain('//evil.example/bundle.tar.gz');
      expect(text).toContain('java\tscript:alert(1)');
      await page.screenshot({ path: join(artifacts, 'fleet-hostile.png'), fullPage: true });
    });
  });

  describe('two hundred nodes', () => {
    let page: Page;
    let watch: PageWatch;
    let url: string;
    let model: FleetModel;

    beforeAll(async () => {
      const entries = syntheticFleet(samples);
      expect(entries).toHaveLength(200);
      model = buildFleetModel(entries, { target: 'cluster prod-us-west-2', generatedAt: GENERATED_AT });
      ({ page, watch, url } = await open('fleet-200', renderFleetHtml(model)));
    });

    afterAll(async () => {
      await page?.context().close();
    });

    it('loads nothing and draws nodes × rules cells', async () => {
      expectQuiet(watch, url);
      expect(await page.$$eval('tr[data-node-row]', (rows) => rows.length)).toBe(200);
      expect(await page.$$eval('td.c', (cells) => cells.length)).toBe(196 * model.columns.length);
      expect(await page.$$eval('td.nodata', (cells) => cells.length)).toBe(4);
    });

    it('orders the groups smallest first after the nodes without a report, and marks the outliers', async () => {
      const sizes = model.groups.map((group) => group.nodes.length);
      expect(model.groups[0]?.kind).toBe('no-report');
      expect(sizes).toEqual([4, 1, 3, 6, 14, 172]);
      const lone = await page.$eval('#group-2 .g-head', (head) =>
        [...head.querySelectorAll('.kv.differs .k')].map((key) => key.textContent),
      );
      expect(lone).toEqual(['AMI', 'kernel']);
    });

    it('folds large groups, leaving their worst nodes in view', async () => {
      const largest = model.groups.at(-1);
      expect(largest?.nodes.length).toBeGreaterThan(LARGE_GROUP);
      const folded = await page.$$eval('details.more', (details) =>
        details.map((element) => ({
          open: (element as HTMLDetailsElement).open,
          rows: element.querySelectorAll('tr[data-node-row]').length,
        })),
      );
      expect(folded).toEqual([{ open: false, rows: 172 - GROUP_PREVIEW_ROWS }]);
      const visibleRows = await page.$$eval('tr[data-node-row]', (rows) => rows.filter((row) => row.checkVisibility()));
      expect(visibleRows).toHaveLength(200 - (172 - GROUP_PREVIEW_ROWS));
      const firstOfLargest = await page.$eval(`#group-${model.groups.length} tbody tr`, (row) => row.className);
      expect(firstOfLargest).toBe('crit');
    });

    it('keeps the node column in place when the page scrolls sideways', async () => {
      await page.setViewportSize({ width: 700, height: 900 });
      try {
        await page.evaluate(() => window.scrollTo(300, 0));
        const left = await page.$eval('.grid tbody th.node', (cell) => cell.getBoundingClientRect().left);
        expect(left).toBe(0);
      } finally {
        await page.evaluate(() => window.scrollTo(0, 0));
        await page.setViewportSize({ width: 1280, height: 900 });
      }
    });

    it('saves screenshots, folded and expanded', async () => {
      await page.screenshot({ path: join(artifacts, 'fleet-200.png'), fullPage: true });
      await page.screenshot({ path: join(artifacts, 'fleet-200.viewport.png') });
      // As a click on the group in the Configurations panel would: the heading must land below the sticky header.
      await page.evaluate(() => document.querySelector('#group-3')?.scrollIntoView());
      const covered = await page.evaluate(() => {
        const header = document.querySelector('.mhead')?.getBoundingClientRect();
        const heading = document.querySelector('#group-3 .g-head')?.getBoundingClientRect();
        return header === undefined || heading === undefined ? 'missing' : heading.top < header.bottom;
      });
      expect(covered).toBe(false);
      await page.screenshot({ path: join(artifacts, 'fleet-200.scrolled.png') });
      const pdf = await page.pdf({ printBackground: true, preferCSSPageSize: true });
      writeFileSync(join(artifacts, 'fleet-200.pdf'), pdf);
      expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    });
  });
});
