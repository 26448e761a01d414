/**
 * Limits of the deposit address pool (docs/adr/0018-deposit-address-pool.md), each with its unit and
 * reason. Deriving one address costs ~1 ms of CPU (bench/api/probes.ts).
 */
export const depositAddressLimits = {
  /** Addresses kept derived per active merchant: absorbs a burst of invoices between two refills. */
  poolTargetPerMerchant: 1_000,
  /** A claim of every N-th index asks for a refill at once (the periodic sweep catches the rest). */
  refillEveryClaims: 250,
  /** Addresses derived per refill transaction: bounds how long the merchant's index counter is locked (~0.5 s). */
  refillBatchMax: 500,
  /** Addresses derived between two yields to the event loop: ~30 ms slices, so other jobs keep their latency. */
  deriveSliceMax: 32,
  /** Merchants topped up per periodic sweep: bounds one sweep's work; the next sweep takes the rest. */
  merchantsPerSweepMax: 100,
  /** Period of the sweep that tops up pools left low (a lost trigger, a restart), milliseconds. */
  sweepEveryMs: 5_000,
} as const
