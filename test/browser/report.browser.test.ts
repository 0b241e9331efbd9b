/**
 * Opens the rendered fixtures in Chromium: the report must load nothing, run nothing, show the model's counts and
 * show hostile bundle text as text. Screenshots (screen and print) land in test-artifacts/ for a human to look at.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostileReport, hostileStrings, minimalReport, realisticReport } from '../../analyzer/report/fixtures.ts';
import { renderHtml } from '../../analyzer/report/html.ts';
import type { Report } from '../../analyzer/report/model.ts';
import { chromiumAvailable, launchChromium, watchPage } from './chromium.ts';

const artifacts = join(import.meta.dirname, '../../test-artifacts');

const fixtures: [name: string, make: () => Report][] = [
  ['report-realistic', realisticReport],
  ['report-hostile', hostileReport],
  ['report-minimal', minimalReport],
];

async function shownCounts(page: Page): Promise<Record<string, number>> {
  return page.$$eval('[data-summary-key]', (items) =>
    Object.fromEntries(
      items.map((item) => [item.getAttribute('data-summary-key'), Number(item.querySelector('.count')?.textContent)]),
    ),
  );
}

/** Elements and attributes that would mean bundle text became markup. */
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

describe.skipIf(!chromiumAvailable())('HTML report in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  describe.each(fixtures)('%s', (name, make) => {
    const report = make();
    const file = join(artifacts, `${name}.html`);
    const url = pathToFileURL(file).href;
    let page: Page;
    let watch: Awaited<ReturnType<typeof watchPage>>;

    beforeAll(async () => {
      writeFileSync(file, renderHtml(report));
      const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, serviceWorkers: 'block' });
      page = await context.newPage();
      watch = await watchPage(page, url);
      await page.goto(url, { waitUntil: 'load' });
    });

    afterAll(async () => {
      await page?.context().close();
    });

    it('loads nothing but itself and raises no error or dialog', () => {
      expect(watch.requests).toEqual([url]);
      expect(watch.failedRequests).toEqual([]);
      expect(watch.consoleErrors).toEqual([]);
      expect(watch.pageErrors).toEqual([]);
      expect(watch.dialogs).toEqual([]);
    });

    it('applies its stylesheet under the Content-Security-Policy', async () => {
      const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      expect(background).toBe('rgb(244, 245, 247)');
    });

    it('shows the summary counts of the model', async () => {
      const { critical, warning, info, passed, notEvaluated } = report.summary;
      expect(await shownCounts(page)).toEqual({ critical, warning, info, passed, notEvaluated });
    });

    it('creates no element or handler from bundle text', async () => {
      expect(await injectedMarkup(page)).toEqual([]);
    });

    it('fits the window width (long lines wrap)', async () => {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
    });

    it('saves a full-page screenshot', async () => {
      const path = join(artifacts, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      expect(readFileSync(path).subarray(1, 4).toString()).toBe('PNG');
    });

    it('prints with every section expanded, even one the reader collapsed', async () => {
      await page.evaluate(() => {
        for (const details of document.querySelectorAll('details')) details.open = false;
      });
      await page.emulateMedia({ media: 'print' });
      try {
        const hidden = await page.$$eval('details > :not(summary)', (elements) =>
          elements.filter((element) => !element.checkVisibility()).map((element) => element.tagName),
        );
        expect(hidden).toEqual([]);
        const nav = await page.$eval('.masthead nav', (element) => element.checkVisibility());
        expect(nav).toBe(false);
        await page.screenshot({ path: join(artifacts, `${name}.print.png`), fullPage: true });
        const pdf = await page.pdf({ format: 'A4', printBackground: true });
        writeFileSync(join(artifacts, `${name}.pdf`), pdf);
        expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
      } finally {
        await page.emulateMedia({ media: 'screen' });
      }
    });
  });

  it('has a watcher that would catch a request, a script error and a dialog', async () => {
    // The negative control: a page without our CSP that does everything a report must not.
    const file = join(artifacts, 'watcher-control.html');
    writeFileSync(
      file,
      '<!doctype html><title>control</title><img src="http://127.0.0.1:9/pixel.png">' +
        '<script>alert("fired"); console.error("logged"); throw new Error("thrown");</script>',
    );
    const page = await browser.newPage();
    try {
      const url = pathToFileURL(file).href;
      const watch = await watchPage(page, url);
      await page.goto(url);
      await page.waitForLoadState('load');
      expect(watch.requests).toEqual([url, 'http://127.0.0.1:9/pixel.png']);
      expect(watch.failedRequests).toEqual([expect.stringContaining('http://127.0.0.1:9/pixel.png')]);
      expect(watch.dialogs).toEqual(['alert: fired']);
      expect(watch.consoleErrors).toContain('logged');
      expect(watch.pageErrors).toEqual([expect.stringContaining('thrown')]);
    } finally {
      await page.close();
    }
  });

  it('shows hostile strings as text', async () => {
    const report = hostileReport();
    const file = join(artifacts, 'report-hostile-text.html');
    writeFileSync(file, renderHtml(report));
    const page = await browser.newPage();
    try {
      const url = pathToFileURL(file).href;
      const watch = await watchPage(page, url);
      await page.goto(url);
      const text = await page.evaluate(() => document.body.textContent ?? '');
      const title = await page.title();
      expect(title).toContain(hostileStrings.script);
      for (const value of [
        hostileStrings.script,
        hostileStrings.img,
        hostileStrings.template,
        hostileStrings.templateBlock,
        hostileStrings.attributeBreak,
        hostileStrings.markdownLink,
      ]) {
        expect(text).toContain(value);
      }
      expect(text).toContain('\\x1b[2J\\x1b[H\\x1b[31mRED\\x1b[0m');
      expect(text).toContain('\\u202etxt.exe');
      // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
      expect(text).not.toMatch(/[\u001b\u009b\u202e]/);
      expect(await page.$$eval('a[href^="javascript:"], a[href^="data:"]', (links) => links.length)).toBe(0);
      expect(watch.dialogs).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
