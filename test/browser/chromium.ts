/**
 * Shared set-up for tests that open reports in a real browser: Debian's Chromium driven by playwright-core (which
 * downloads nothing). Use `chromiumAvailable()` to gate a suite, `launchChromium()` to start the browser and
 * `watchPage()` to record everything a self-contained report must never do.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium, type LaunchOptions, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const chromiumLaunchOptions: LaunchOptions = {
  executablePath: CHROMIUM_PATH,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
  ],
};

const INSTALL_HINT = 'install it with `apt-get update && apt-get install -y chromium`';

/**
 * Whether browser tests can run here. Without Chromium, a CI run throws (so the suite fails instead of passing
 * vacuously) and a local run prints a banner and returns false, for the caller to skip.
 */
export function chromiumAvailable(
  env: NodeJS.ProcessEnv = process.env,
  exists: (path: string) => boolean = existsSync,
): boolean {
  if (exists(CHROMIUM_PATH)) return true;
  if (env.CI) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM_PATH} and CI is set, so browser tests may not be skipped: ${INSTALL_HINT}.`,
    );
  }
  const rule = '!'.repeat(100);
  console.warn(`\n${rule}\n!! SKIPPING BROWSER TESTS: no Chromium at ${CHROMIUM_PATH}; ${INSTALL_HINT}.\n${rule}\n`);
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch(chromiumLaunchOptions);
}

/** What a page did that a self-contained, script-free report never should (besides loading its own file). */
export interface PageWatch {
  /** Every request the page made, its own document included. */
  requests: string[];
  failedRequests: string[];
  consoleErrors: string[];
  pageErrors: string[];
  /** alert/confirm/prompt/beforeunload dialogs, each dismissed. */
  dialogs: string[];
}

/**
 * Starts recording on `page` before it navigates. Every request other than `documentUrl` is aborted after being
 * recorded, so a regression shows up as a failed assertion rather than as traffic leaving the machine.
 */
export async function watchPage(page: Page, documentUrl: string): Promise<PageWatch> {
  const watch: PageWatch = { requests: [], failedRequests: [], consoleErrors: [], pageErrors: [], dialogs: [] };
  page.on('request', (request) => watch.requests.push(request.url()));
  page.on('requestfailed', (request) => watch.failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`));
  page.on('console', (message) => {
    if (message.type() === 'error') watch.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => watch.pageErrors.push(String(error)));
  page.on('dialog', (dialog) => {
    watch.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('websocket', (socket) => watch.requests.push(socket.url()));
  await page.route('**/*', (route) => (route.request().url() === documentUrl ? route.continue() : route.abort()));
  return watch;
}
