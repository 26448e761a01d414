import { assert } from '../../lib/assert.ts'

/**
 * Limits of the deposit address pool (docs/adr/0018-deposit-address-pool.md), each with its unit and
 * reason. Deriving one address costs ~0.2 ms of CPU in batches, ~0.25 ms alone (ADR 0022).
 */
export const depositAddressLimits = {
  /**
   * Fewest addresses kept derived per active merchant, whatever its recent demand: a burst that no
   * demand estimate has seen yet (the first second of a merchant's traffic) finds 1,000 ready.
   */
  poolTargetMin: 1_000,
  /**
   * Most addresses kept derived per merchant: unused ones cost ~0.2 ms of worker CPU and ~150 B of
   * table each, so 20,000 ≈ 4 s of CPU and 3 MB. 2,000 invoices/s (above one 2-core machine) fill it.
   */
  poolTargetMax: 20_000,
  /**
   * The pool holds this much of the merchant's recent demand, milliseconds. A refill is triggered every
   * refillEveryClaims claimed indexes and derives a batch in ~0.1 s, so 2 s is ~10× the reaction time.
   * More is paid for at once: 10 s of cover made the worker derive ~11,000 extra addresses (~2.5 s of
   * CPU) in the first seconds of a 1,100/s burst, slowing the API it was meant to spare (ADR 0022).
   */
  poolDemandCoverMs: 2_000,
  /** Shortest interval demand is measured over, ms: shorter ones see one reserve fetch (128), noise. */
  demandSampleMinMs: 1_000,
  /** Merchants whose demand a worker remembers (~100 B each); the one looked at longest ago goes first. */
  demandMerchantsMax: 10_000,
  /** A claim of every N-th index asks for a refill at once (the periodic sweep catches the rest). */
  refillEveryClaims: 250,
  /**
   * Addresses per refill batch (indexes taken in one statement, derived, inserted in one statement):
   * bounds the index gap a crash mid-batch leaves and one insert's size; ~0.1 s of CPU.
   */
  refillBatchMax: 500,
  /** Addresses derived between two yields to the event loop: ~30 ms slices, so other jobs keep their latency. */
  deriveSliceMax: 32,
  /** Merchants topped up per periodic sweep: bounds one sweep's work; the next sweep takes the rest. */
  merchantsPerSweepMax: 100,
  /** Period of the sweep that tops up pools left low (a lost trigger, a restart), milliseconds. */
  sweepEveryMs: 5_000,
  /**
   * Fewest pooled addresses an API process fetches to hold per merchant for one-statement invoice
   * creation (ADR 0022). Held addresses die with the process (index gaps, harmless: ADR 0018). Measured
   * with 32 connections on one merchant: 32 ran dry a third of the time; 128 outlasts a burst of them.
   */
  reserveMin: 128,
  /** Most addresses held per merchant: bounds the memory below and the gap a crash leaves. */
  reserveMax: 512,
  /**
   * Held addresses last this long at the merchant's recent rate, ms. A fetch is started when half are
   * left (~125 ms); under load it waits ~20-30 ms for a pool connection, so it lands well in time.
   */
  reserveDemandCoverMs: 250,
  /** Shortest interval a process measures a merchant's rate over, ms: shorter is one burst, noise. */
  reserveDemandSampleMinMs: 250,
  /** Merchants an API process holds addresses for (≤ 512 × 500 × ~200 B ≈ 51 MB); others take one at a time. */
  reserveMerchantsMax: 500,
} as const

// Relations between the limits, checked when the module loads: a bad edit fails every process at once.
assert(
  depositAddressLimits.poolTargetMin <= depositAddressLimits.poolTargetMax,
  'poolTargetMin must not exceed poolTargetMax',
)
assert(
  depositAddressLimits.refillBatchMax <= depositAddressLimits.poolTargetMin,
  'one refill batch must not be more than a pool at its floor holds',
)
assert(
  depositAddressLimits.refillEveryClaims < depositAddressLimits.poolTargetMin,
  'a claim trigger must fire before a pool at its floor runs dry',
)
assert(
  depositAddressLimits.reserveMin <= depositAddressLimits.reserveMax,
  'reserveMin must not exceed reserveMax',
)
assert(
  depositAddressLimits.reserveMax < depositAddressLimits.poolTargetMin,
  'one process holding its most must leave the pool something for the others',
)
