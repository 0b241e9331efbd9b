import { describe, expect, it } from 'vitest';
import { compareVersions, describeRange, matchRange, minorOf, parseVersion, type Version } from './versions.ts';

function v(text: string): Version {
  const version = parseVersion(text);
  if (!version) throw new Error(`not a version: ${text}`);
  return version;
}

describe('parseVersion', () => {
  it('reads every shape the bundle writes', () => {
    expect(v('v1.19.3-eksbuild.1')).toEqual({ major: 1, minor: 19, patch: 3, build: 1, text: 'v1.19.3-eksbuild.1' });
    expect(v('1.19.2')).toEqual({ major: 1, minor: 19, patch: 2, text: '1.19.2' });
    expect(v('v1.31.2-eks-94953ac')).not.toHaveProperty('build');
    expect(v('v1.31.2-minimal-eksbuild.3').build).toBe(3);
    expect(v('v1.29').patch).toBe(0);
    expect(minorOf(v('v1.31.2-eks-94953ac'))).toBe('1.31');
  });

  it('rejects what is not a version', () => {
    expect(parseVersion('latest')).toBeUndefined();
    expect(parseVersion('')).toBeUndefined();
    expect(parseVersion('vX.1')).toBeUndefined();
  });
});

describe('compareVersions', () => {
  it('orders releases, then builds, and says when the order is unknown', () => {
    expect(compareVersions(v('v1.19.3'), v('v1.19.10'))).toBeLessThan(0);
    expect(compareVersions(v('v1.20.0'), v('v1.19.10'))).toBeGreaterThan(0);
    expect(compareVersions(v('v1.19.3-eksbuild.2'), v('v1.19.3-eksbuild.1'))).toBeGreaterThan(0);
    expect(compareVersions(v('v1.19.3'), v('1.19.3'))).toBe(0);
    expect(compareVersions(v('v1.19.3'), v('v1.19.3-eksbuild.1'))).toBeUndefined();
  });
});

describe('matchRange', () => {
  it('applies OSV bounds: introduced inclusive, fixed exclusive, lastAffected inclusive', () => {
    const busyLoop = { introduced: '1.16.3', fixed: '1.16.4' };
    expect(matchRange(v('v1.16.3-eksbuild.2'), busyLoop)).toBe('affected');
    expect(matchRange(v('v1.16.3'), busyLoop)).toBe('affected');
    expect(matchRange(v('v1.16.4-eksbuild.1'), busyLoop)).toBe('unaffected');
    expect(matchRange(v('v1.16.2'), busyLoop)).toBe('unaffected');
    expect(matchRange(v('v1.1.6-eksbuild.1'), { fixed: '1.2.0' })).toBe('affected');
    expect(matchRange(v('v1.2.0'), { fixed: '1.2.0' })).toBe('unaffected');
  });

  it('matches a single EKS build, and only possibly when the build is not known', () => {
    const oneBuild = { introduced: '1.19.3-eksbuild.1', lastAffected: '1.19.3-eksbuild.1' };
    expect(matchRange(v('v1.19.3-eksbuild.1'), oneBuild)).toBe('affected');
    expect(matchRange(v('v1.19.3-eksbuild.2'), oneBuild)).toBe('unaffected');
    expect(matchRange(v('v1.19.2-eksbuild.1'), oneBuild)).toBe('unaffected');
    expect(matchRange(v('v1.19.3'), oneBuild)).toBe('possible');
    expect(matchRange(v('v1.19.4'), oneBuild)).toBe('unaffected');
  });

  it('refuses a table bound that is not a version', () => {
    expect(() => matchRange(v('v1.0.0'), { fixed: 'soon' })).toThrow(/not a version/);
  });

  it('describes ranges for messages', () => {
    expect(describeRange({ introduced: '1.17.1', fixed: '1.19.3' })).toBe('>= 1.17.1, < 1.19.3');
    expect(describeRange({ introduced: '1.19.3-eksbuild.1', lastAffected: '1.19.3-eksbuild.1' })).toBe(
      '1.19.3-eksbuild.1',
    );
    expect(describeRange({})).toBe('every version');
  });
});
