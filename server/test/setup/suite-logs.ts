import { resolve } from 'node:path'

/**
 * Every process output the suite produced, scanned for known secrets when the run ends (global-setup.ts).
 * A module of its own: global setup runs outside Vitest's context and must not import what uses it.
 */
export const suiteLogDirectory = resolve(import.meta.dirname, '..', '..', '..', 'test-artifacts', 'logs')
