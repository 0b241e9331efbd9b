/**
 * Each sample's HTML report, produced by the real CLI bundle, opened in Chromium: no console errors, no requests
 * other than the file itself, summary counts equal to the JSON report, a screenshot kept in test-artifacts/.
 * A bundle whose log lines carry markup shows it as text.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarios } from '../../samples/scenarios/index.ts';
import { tarGzOf } from '../support/archives.ts';
import { chromiumAvailable, launchChromium, watchPage } from './chromium.ts';

const root = resolve(import.meta.dirname, '..', '..');
const artifacts = join(root, 'test-artifacts', 'samples');
const cli = join(root, 'dist', 'eks-node-diag.cjs');

/** Runs the built CLI: HTML and JSON reports of one bundle. */
function analyze(bundle: string, name: string): { html: string; json: { summary: Record<string, number> } } {
  const html = join(artifacts, `${name}.report.html`);
  const json = join(artifacts, `${name}.report.json`);
  const result = spawnSync(process.execPath, [cli, 'analyze', bundle, '--html', html, '--json', json], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`analyze ${name} exited ${result.status}: ${result.stderr}`);
  return { html, json: JSON.parse(readFileSync(json, 'utf8')) };
}

describe.skipIf(!chromiumAvailable())('sample reports in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function open(html: string) {
    const url = pathToFileURL(html).href;
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, serviceWorkers: 'block' });
    const page = await context.newPage();
    const watch = await watchPage(page, url);
    await page.goto(url, { waitUntil: 'load' });
    return { page, watch, url, close: () => context.close() };
  }

  it.each(scenarios.map((scenario) => [scenario.name]))(
    '%s: clean page, counts equal the JSON, screenshot kept',
    async (name) => {
      const { html, json } = analyze(join(root, 'samples', 'bundles', `${name}.tar.gz`), name);
      const { page, watch, url, close } = await open(html);
      try {
        expect(watch.requests).toEqual([url]);
        expect(watch.consoleErrors).toEqual([]);
        expect(watch.pageErrors).toEqual([]);
        expect(watch.dialogs).toEqual([]);
        const shown = await page.$$eval('[data-summary-key]', (items) =>
          Object.fromEntries(
            items.map((item) => [
              item.getAttribute('data-summary-key'),
              Number(item.querySelector('.count')?.textContent),
            ]),
          ),
        );
        const { critical, warning, info, passed, notEvaluated } = json.summary;
        expect(shown).toEqual({ critical, warning, info, passed, notEvaluated });
        const screenshot = join(artifacts, `${name}.png`);
        await page.screenshot({ path: screenshot, fullPage: true });
        expect(readFileSync(screenshot).subarray(1, 4).toString()).toBe('PNG');
      } finally {
        await close();
      }
    },
  );

  it('shows markup from log lines as text', async () => {
    const hostile = [
      'Nov 20 08:41:07 ip-10-0-1-23 kubelet[3412]: I1120 08:41:07.123456    3412 prober.go:107] "Probe failed" probeType="Liveness" pod="kube-system/aws-node-<script>alert(1)</script>" podUID="x" containerName="aws-node" probeResult="failure" output="<img src=x onerror=alert(2)>"',
      '',
    ].join('\n');
    const bundle = join(artifacts, 'hostile.tar.gz');
    writeFileSync(
      bundle,
      tarGzOf([
        { name: './kubelet/kubelet.log', content: hostile },
        {
          name: './networking/iptables-save.txt',
          content: '*filter\n:FORWARD DROP [1:60]\n# <script>alert(3)</script>\nCOMMIT\n',
        },
      ]),
    );
    const { html } = analyze(bundle, 'hostile');
    const { page, watch, close } = await open(html);
    try {
      expect(watch.dialogs).toEqual([]);
      expect(watch.pageErrors).toEqual([]);
      expect(await page.$$eval('script, img, iframe, object, embed', (elements) => elements.length)).toBe(0);
      const text = await page.evaluate(() => document.body.textContent ?? '');
      expect(text).toContain('<img src=x onerror=alert(2)>');
      expect(text).toContain('aws-node-<script>alert(1)</script>');
    } finally {
      await close();
    }
  });
});
