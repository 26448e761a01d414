import { assert } from '../lib/assert.ts'

/**
 * Every limit in Sluice, named with its unit last, each with the reason for its value.
 * Change a value here, never inline. `assertLimitRelations` runs at start-up.
 */
export const limits = {
  // --- database ---
  /** Connections per process. 2-core machines: more connections than ~4×cores only add contention. */
  dbPoolSizeMax: 10,
  /** A statement running longer than this is a bug or a lock pile-up; fail it rather than hold a connection. */
  dbStatementTimeoutMs: 15_000,
  /** Waiting longer than this for a pooled connection means the process is overloaded: shed load. */
  dbConnectionTimeoutMs: 5_000,
  /** A transaction left idle this long has lost its client; Postgres ends it and releases its locks. */
  dbIdleInTransactionTimeoutMs: 30_000,

  // --- http ---
  /** Largest request body accepted; invoices and payouts are small, a batch of 1,000 payouts fits. */
  requestBodyBytesMax: 1_048_576,
  /** Default and largest page of any list endpoint (Medusa uses 20; a max keeps every query bounded). */
  pageSizeDefault: 20,
  pageSizeMax: 100,
  /** In-flight HTTP requests get this long to finish on SIGTERM before the server closes anyway. */
  shutdownGraceMs: 10_000,
  /**
   * How long an API process trusts a key it verified, without reading the key's row again. Reading it
   * was one of ~7 round trips of POST /v1/invoices. A key revoked through another process keeps working
   * there for at most this long (the revoking process forgets it at once): 1 s is below any human's
   * reaction time to a leaked key, and one read per key per second is nothing.
   */
  apiKeyTrustMs: 1_000,
  /** Verified keys an API process remembers at once (~200 B each); beyond it the oldest is forgotten. */
  apiKeysTrustedMax: 10_000,

  // --- chains ---
  /** Outbound JSON-RPC call timeout; a slower provider is treated as failing and the next URL is tried. */
  rpcTimeoutMs: 5_000,
  /** Block timestamps have 1 s resolution, so a head younger than this is fresh whatever the block time. */
  headStalenessFloorMs: 3_000,
  /** A head older than this many block times is stale and its RPC URL unhealthy (issue 4, RPC failover). */
  headStalenessBlockTimes: 3,
  /** RPC URLs per network; failover walks them in order. */
  rpcUrlsPerNetworkMax: 8,
  /** Tokens per network: bounds every per-token loop in the watcher. */
  tokensPerNetworkMax: 32,
  /** Networks in one gateway: bounds per-network workers and readiness checks. */
  networksMax: 32,
  /** Trusted proxy entries (IPs or CIDR ranges): a load balancer tier is a handful of ranges. */
  trustedProxiesMax: 64,
  /**
   * Operator stores (config `operatorStores`): the operator's own stores, a house store or a few brands.
   * A long list means the treasury is being opened to merchants, which the setting exists to prevent.
   */
  operatorStoresMax: 16,
  /** ERC-20 decimals above this are not a real stablecoin; 36 keeps 10^decimals far inside uint256. */
  tokenDecimalsMax: 36,
  /**
   * Max fee per gas no transaction is signed above, unless a network sets `maxFeePerGasCapWei`: 500 gwei is
   * above every Ethereum spike outside minutes-long mint frenzies; a payout waits rather than overpays.
   */
  maxFeePerGasCapWeiDefault: 500_000_000_000n,

  // --- jobs ---
  /** Jobs one worker claims per poll. */
  jobsClaimedPerPollMax: 16,
  /** Jobs one worker runs at once (I/O bound: webhooks, RPC). */
  jobConcurrencyMax: 8,
  /** How long a claimed job is leased; a worker that dies loses its lease and the job is claimed again. */
  jobLeaseMs: 60_000,
  /** Idle poll interval; NOTIFY wakes workers sooner when a job is enqueued. */
  jobPollIntervalMs: 1_000,
  /**
   * Shortest gap between two wake-ups of one job kind from one process (db/wake.ts). Each is a statement
   * and a NOTIFY to every worker: at 1,000 events/s one per event-loop turn sent ~700/s, a quarter of
   * the statements of the webhook path. A few milliseconds of delay, well below any job's latency goal.
   */
  jobWakeUpIntervalMs: 5,
  /** Default attempts before a job is marked dead (each kind may set fewer). */
  jobAttemptsMax: 25,
  /** Upper bound of the exponential retry delay between attempts. */
  jobBackoffMsMax: 3_600_000,
} as const

/** Relations between limits, checked once at start-up (TigerBeetle-style comptime asserts). */
export function assertLimitRelations(): void {
  assert(limits.pageSizeDefault <= limits.pageSizeMax, 'pageSizeDefault must not exceed pageSizeMax')
  assert(limits.jobConcurrencyMax <= limits.dbPoolSizeMax, 'each running job may need a connection')
  assert(limits.jobLeaseMs > limits.dbStatementTimeoutMs, 'a lease must outlive any single statement')
  assert(limits.rpcTimeoutMs < limits.jobLeaseMs, 'an RPC call must finish inside a job lease')
}
