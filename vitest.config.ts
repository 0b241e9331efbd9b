import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'agent/**/*.test.ts',
      'analyzer/**/*.test.ts',
      'cli/**/*.test.ts',
      'contract/**/*.test.ts',
      'test/**/*.test.ts',
      'scripts/**/*.test.ts',
    ],
    // vitest empties imported CSS unless it is listed here; the report stylesheet is imported as text (?raw).
    css: { include: [/[\\/]templates[\\/][^\\/]+\.css/] },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
