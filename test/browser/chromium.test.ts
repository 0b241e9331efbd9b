import { afterEach, describe, expect, it, vi } from 'vitest';
import { CHROMIUM_PATH, chromiumAvailable, chromiumLaunchOptions } from './chromium.ts';

describe('chromiumAvailable', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('is true when Chromium is installed', () => {
    expect(chromiumAvailable({ CI: 'true' }, (path) => path === CHROMIUM_PATH)).toBe(true);
  });

  it('fails a CI run that has no Chromium, naming the fix', () => {
    expect(() => chromiumAvailable({ CI: 'true' }, () => false)).toThrow(/apt-get install -y chromium/);
  });

  it('lets a local run skip, loudly', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(chromiumAvailable({}, () => false)).toBe(false);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('SKIPPING BROWSER TESTS'));
  });
});

describe('chromiumLaunchOptions', () => {
  it('runs Debian Chromium headless with nothing that phones home', () => {
    expect(chromiumLaunchOptions.executablePath).toBe('/usr/bin/chromium');
    expect(chromiumLaunchOptions.headless).toBe(true);
    expect(chromiumLaunchOptions.args).toEqual(
      expect.arrayContaining(['--no-sandbox', '--disable-background-networking', '--disable-component-update']),
    );
  });
});
