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
  /**
   * Pooled addresses an API process holds per merchant for one-statement invoice creation (ADR 0022).
   * Held addresses die with the process (index gaps, harmless: ADR 0018). Measured with 32 connections
   * on one merchant: a reserve of 32 ran dry a third of the time (each empty take is a two-step request);
   * 128 keeps more than a whole burst of connections' worth between two fetches.
   */
  reservePerMerchant: 128,
  /** Held addresses below which the process fetches more: two bursts of 32 connections still find one. */
  reserveRefillBelow: 64,
  /** Merchants an API process holds addresses for (≤ 128 × 500 × ~200 B ≈ 13 MB); others go two-step. */
  reserveMerchantsMax: 500,
} as const
