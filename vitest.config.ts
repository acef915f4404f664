import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    projects: [
      {
        extends: true,
        test: { name: 'engine', include: ['test/**/*.test.ts'], exclude: ['test/package/**'], sequence: { groupOrder: 0 } },
      },
      // Packs, installs and compiles: heavy on a small machine, so it runs after the engine's
      // real-socket tests rather than beside them.
      {
        extends: true,
        test: { name: 'package', include: ['test/package/**/*.test.ts'], sequence: { groupOrder: 1 }, testTimeout: 120_000 },
      },
    ],
  },
});
