import { defineConfig } from 'vitest/config'

// Three tiers (docs/adr/0004-test-tiers.md): unit = pure functions; int = services on real PostgreSQL;
// e2e = API + workers + anvil, driven through the SDK. Every test has a timeout.
const shared = {
  globalSetup: ['server/test/setup/global-setup.ts'],
  testTimeout: 60_000,
  hookTimeout: 120_000,
  // Tiers with real processes, chains and clocks on a shared 2-core machine get one retry: a broken
  // behaviour fails twice; a test that passes only on its retry is reported as flaky in the run's output
  // and is fixed, not ignored (docs/adr/0004).
  retry: 1,
}

export default defineConfig({
  test: {
    // Two test files at a time: our machines have 2 cores, and e2e files start chains and gateways.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{server,sdk,contracts,scripts}/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/*.int.test.ts', '**/*.e2e.test.ts'],
          testTimeout: 30_000,
        },
      },
      { test: { name: 'int', include: ['{server,sdk,contracts}/**/*.int.test.ts'], ...shared } },
      {
        test: {
          name: 'e2e',
          include: ['{server,sdk,contracts}/**/*.e2e.test.ts'],
          ...shared,
          // A gateway start on a loaded 2-core machine can take tens of seconds.
          testTimeout: 180_000,
        },
      },
    ],
  },
})
