import { assert } from '../../lib/assert.ts'

/**
 * Limits of sending sweeps to cold (treasury.send.ts), named with the unit last, each with its reason (the
 * convention of config/limits.ts). The replacement bump is the sweeps' (sweepLimits.replacementBumpPerMille,
 * applied by sweep.service.ts hotWalletReplacementFees): both take the hot wallet's shared nonce.
 */
export const treasuryLimits = {
  /**
   * A sweep to cold without a receipt this long (ms, on the signing worker's clock) is replaced at its
   * nonce with higher fees. The sweep itself is never urgent, but its nonce is the hot wallet's: while it
   * is stuck, every later hot-wallet transaction waits behind it, payouts included. So the payouts' wait
   * applies (payout.send.ts, 60 s, five Ethereum blocks). A replacement costs nothing unless it is mined.
   */
  sweepReplaceAfterMs: 60_000,
  /**
   * Attempts stored for one sweep to cold at one nonce. Each is looked up every run until one is mined.
   * The first replacement already bids today's market (2 × base + tip); from 1 gwei, +12.5 % per attempt
   * reaches the 500 gwei default cap in 53 steps. Past this count the sweep stays as it is and alerts.
   */
  sweepAttemptsMax: 64,
  /** Proposals handled per run and status: sweeps to cold are rare (one per asset at a time). */
  proposalsPerRunMax: 32,
  /** Gas limit = estimate × 125 %, as payouts and sweeps (a cold slot or a token upgrade adds a little). */
  gasLimitPercent: 125n,
  /** maxFee = base fee × 2 + tip (ethers' headroom: six full blocks of +12.5 %), as payouts. */
  baseFeeMultiplier: 2n,
  /**
   * Blocks per eth_getLogs call of the scan for top-ups from cold: the chain watcher's bound (Alchemy caps
   * ranges at 2,000; chainLimits.blockRangeMax). The topics name the cold and hot addresses, so an answer
   * holds a handful of logs; a provider's "too many results" still halves the range.
   */
  inflowScanBlockRangeMax: 2_000,
  /**
   * Ranges one watch-treasury run reads per network (100,000 blocks: two weeks of Ethereum, seven hours of
   * Arbitrum). Bounds a run after a long outage; the cursor is kept, so the next run (60 s) goes on.
   */
  inflowScanRangesPerRunMax: 50,
  /** Characters of the reason an operator gives when booking an inflow: a sentence with a ticket number. */
  inflowReasonLengthMax: 500,
} as const

/** Relations between the limits, checked when the module loads. */
function assertTreasuryLimitRelations(): void {
  assert(treasuryLimits.sweepAttemptsMax >= 2, 'replacing needs room for a second attempt')
  assert(treasuryLimits.gasLimitPercent >= 100n, 'the gas limit must not be below the estimate')
  assert(treasuryLimits.baseFeeMultiplier >= 1n, 'the max fee must cover at least the current base fee')
  assert(treasuryLimits.inflowScanBlockRangeMax >= 1, 'a scan range holds at least one block')
  assert(treasuryLimits.inflowScanRangesPerRunMax >= 1, 'a scan run reads at least one range')
}
assertTreasuryLimitRelations()
