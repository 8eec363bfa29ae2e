import { configDefaults, defineConfig } from 'vitest/config';
import { describeMissing, missingRequirements, suitesToSkip } from './test/requirements.js';

// Suites whose tools are missing here are left out, and said so here rather than in
// test/global-setup.ts: with every requested suite left out, vitest stops ("No test files found")
// before the global setup runs. Under LAMPNET_REQUIRE_ALL=1 nothing is left out and the global
// setup stops the run instead.
const missing = missingRequirements();
const skipped = suitesToSkip(missing);
if (skipped.length > 0) console.warn(describeMissing(missing));

// Suites that create network namespaces or start brokers on fixed ports run one file at a time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...skipped],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    globalSetup: ['test/global-setup.ts'],
  },
});
