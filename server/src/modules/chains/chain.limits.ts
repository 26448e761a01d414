/** Limits of the chain watcher, each with its unit and reason (see also config/limits.ts). */
export const chainLimits = {
  /**
   * Ranges read ahead while catching up. The next read starts as soon as a tick takes its range, so it
   * overlaps that range's own read tail and its write. A range read ahead keeps only its candidate
   * transfers, but its read holds the raw answer (~12 MB for 20,000 logs) while it runs. 2 was measured
   * twice (bench/deposits, docs/adr/0011, amendment 2026-11-23): within this host's drift either way, for
   * 15–25 MB more peak RSS. Writes, not reads, bound a catch-up.
   */
  readAheadRangesMax: 1,
  /** Blocks per eth_getLogs call: Alchemy caps at 2,000, thirdweb uses 500; halved on "too many results". */
  blockRangeMax: 2_000,
  /**
   * Ranges answered in full, after a node refused a longer one, before the planned length doubles again:
   * one refused call per this many ranges where the chain stays as busy, longer ranges soon where it quietens.
   */
  rangeGrowAfterFullAnswers: 8,
  /** A new cursor starts this far behind the head, so transfers just before the first start are found. */
  watcherInitialLookbackBlocks: 100,
  /** A watcher lease outlives a few ticks; a dead worker's network is taken over after it expires. */
  watcherLeaseMs: 15_000,
  /** Pause between ticks when the cursor has caught up with the head (a new-head push wakes it sooner). */
  watcherIdleMs: 1_000,
  /** Pause after a failed tick (RPC outage, lost lease) before trying again. */
  watcherErrorBackoffMs: 2_000,
  /** Stored block hashes examined for a reorg; a fork below them is treated as deeper than we can see. */
  reorgDepthMaxBlocks: 256,
  /** Final blocks whose hashes are kept to notice a reorg deeper than finality. */
  finalBlocksKept: 8,
  /** Deposit addresses loaded into the watcher's address set per query (as rows, for small watch sets). */
  addressLoadPageSize: 10_000,
  /** Addresses per packed page (8 bytes each: 800 KB a page), once the watch set is past the small list. */
  addressPrefixLoadPageSize: 100_000,
  /** Packed pages loaded at once (a first load of a million addresses: two database cores busy, not one). */
  addressLoadConcurrency: 2,
  /**
   * While catching up, ranges only insert what they find; open payments move (confirm, credit) once the
   * cursor reaches the head, or at least this often, so a watcher that never catches up still credits.
   */
  catchUpCreditingIntervalMs: 10_000,
  /** Native transfers are looked for only in ranges this short (each block is fetched with its transactions). */
  nativeScanBlocksMax: 16,
  /** Addresses watched for unconfigured tokens (a topic filter per address); above this they are not. */
  unsupportedTokenWatchAddressesMax: 1_000,
} as const
