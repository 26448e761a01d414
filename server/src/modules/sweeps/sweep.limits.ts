import { assert } from '../../lib/assert.ts'

/**
 * Limits of the sweeps module, named with the unit last, each with the reason for its value (same
 * convention as config/limits.ts). Amounts are bigint base units; ratios are integer percents.
 */
export const sweepLimits = {
  /**
   * Sweep an asset at an address once its credited, unswept deposits reach this many whole tokens. A
   * sweep costs two transactions (≈ 21,000 + 30–38k gas, ADR 0012); below ~10 tokens that fee is a
   * visible share of the amount on Ethereum. Per-token overrides go in `sweepThresholdTokensBySymbol`.
   */
  sweepThresholdTokens: 10n,
  /** Per-symbol overrides of `sweepThresholdTokens` (none yet; the shape is the extension point). */
  sweepThresholdTokensBySymbol: {} as Readonly<Record<string, bigint>>,
  /**
   * The sweep's gas limit is the node's estimate × this percent. The estimate is exact for the state it
   * ran on; a token upgrade or a cold storage slot can add a few thousand gas. OpenZeppelin Relayer adds
   * 10 %, SHKeeper 50 %; 25 % strands little native dust (the top-up pays gas limit × max fee).
   */
  gasLimitMultiplierPercent: 125n,
  /**
   * maxFeePerGas = next base fee × this percent + priority fee. The sweep is signed only after its
   * top-up is included, so its fee must survive some blocks of +12.5 % base-fee steps: 200 % is ethers'
   * headroom (six full blocks). Higher would strand more dust on one-shot invoice addresses.
   */
  baseFeeMultiplierPercent: 200n,
  /**
   * No sweep transaction pays more than this per gas (wei); above it the sweep waits (thirdweb's gas
   * ceiling: delay rather than overpay). 500 gwei is far above Ethereum's normal range; sweeps are never
   * urgent.
   */
  maxFeePerGasCapWei: 500_000_000_000n,
  /** Priority fee ceiling (wei): a tip above 50 gwei is a fee spike, and sweeps can wait it out. */
  maxPriorityFeePerGasCapWei: 50_000_000_000n,
  /** Recent blocks read by eth_feeHistory (OpenZeppelin Relayer reads 4; the reference suggests 4–10). */
  feeHistoryBlocks: 5,
  /** Reward percentile of each block used as the priority fee (the median: sweeps are low urgency). */
  priorityFeePercentile: 50,
  /** A plain native-coin transfer to an EOA (the top-up) costs exactly this (protocol constant). */
  nativeTransferGas: 21_000n,
  /**
   * Top-ups signed but without a receipt, per network. geth guarantees 16 executable transactions per
   * account in its pool (txpool AccountSlots); more would be dropped or queued behind a gap, so funding
   * waits instead (and an unfunded gas station does not pile up signed top-ups).
   */
  topUpsInFlightMax: 16,
  /**
   * A gas top-up without a receipt this long (ms, on the signing worker's clock) is replaced at its nonce
   * with higher fees. The top-up takes the hot wallet's shared nonce, so while it is stuck every later
   * hot-wallet transaction waits behind it, payouts included: the payouts' wait (payout.send.ts, 60 s,
   * five Ethereum blocks) applies. A replacement costs nothing unless it is the one mined.
   */
  topUpReplaceAfterMs: 60_000,
  /**
   * A replacement's fees, per mille of the attempt it replaces, on both maxFeePerGas and
   * maxPriorityFeePerGas (rounded up, + 1 wei): 1125 is +12.5 %. geth refuses a replacement below +10 % (txpool PriceBump);
   * 12.5 % as payouts (payout.fees.ts) clears it and nodes that ask a little more. Shared with sweeps to
   * cold (treasury.send.ts), which take the same nonce counter.
   */
  replacementBumpPerMille: 1125n,
  /**
   * Attempts stored for one top-up at one nonce. Each is looked up every tick until one is mined. The
   * first replacement already bids today's market (2 × base + tip), and from 1 gwei +12.5 % per attempt
   * reaches the 500 gwei cap in 53 steps; past this count the top-up stays as it is and alerts.
   */
  topUpAttemptsMax: 64,
  /** New sweeps planned per tick: bounds one tick's RPC reads (a balanceOf per candidate). */
  sweepsPlannedPerTickMax: 50,
  /** Open sweeps advanced per tick and status: bounds one tick's RPC calls and signatures. */
  openSweepsPerTickMax: 100,
  /** Payments linked to one sweep: bounds its insert; the rest go with the next sweep of that address. */
  paymentsPerSweepMax: 1_000,
  /**
   * Failed sweeps of one asset at one address before sweeping it stops until a person looks: a sweep that
   * reverts again and again (token paused, address blacklisted) burns gas each time.
   */
  failedSweepsBeforeManualReviewMax: 3,
  /** How often a network's sweep job runs (ms): deposits reach finality in minutes, sweeps are not urgent. */
  sweepIntervalMs: 30_000,
  /** Delay before the next run after a run failed (an RPC outage, a database hiccup). */
  sweepRetryAfterFailureMs: 60_000,
} as const

/** Relations between the limits, checked when the module loads. */
function assertSweepLimitRelations(): void {
  const limits = sweepLimits
  assert(limits.gasLimitMultiplierPercent >= 100n, 'the gas limit must not be below the estimate')
  assert(limits.baseFeeMultiplierPercent >= 100n, 'the max fee must cover at least the current base fee')
  assert(
    limits.maxPriorityFeePerGasCapWei <= limits.maxFeePerGasCapWei,
    'the priority fee is part of the max fee',
  )
  assert(limits.sweepThresholdTokens > 0n, 'a zero threshold would sweep every deposit separately')
  assert(limits.sweepRetryAfterFailureMs >= limits.sweepIntervalMs, 'a failure must not speed the loop up')
  assert(limits.replacementBumpPerMille >= 1100n, 'nodes refuse a replacement below +10 % on both fee fields')
  assert(limits.topUpAttemptsMax >= 2, 'replacing needs room for a second attempt')
}
assertSweepLimitRelations()
