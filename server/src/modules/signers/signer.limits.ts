/** Limits of the signers module, unit last, each with its reason (docs/STYLE.md 7). */
export const signerLimits = {
  /**
   * A request older or newer than this is refused: long enough for clock skew between two hosts kept by
   * NTP plus one slow request, short enough that the nonce cache only needs to remember this long.
   */
  requestWindowMs: 30_000,
  /** Nonces remembered for replay checks; at the window above this allows ~330 signatures/s. */
  nonceCacheEntriesMax: 10_000,
  /** A signing request is a transaction plus a batch of at most 1,000 payouts (~300 B each). */
  requestBodyBytesMax: 524_288,
  /** Items one signature may pay: the largest batch payout (issue 6: up to 1,000). */
  paidItemsMax: 1_000,
  /** Remote signing call timeout: a KMS round trip plus the database checks; slower counts as down. */
  remoteTimeoutMs: 10_000,
  /** The shared secret must carry at least 256 bits: HMAC-SHA256's key strength. */
  sharedSecretBytesMin: 32,
  /**
   * Items the signing journal remembers (one nonce per payout for ever): ~100 bytes each in memory, so 1 M is
   * ~100 MB. Past it the signer refuses to sign until the journal is rotated (fail closed, never forget).
   */
  journalEntriesMax: 1_000_000,
  /** A secret file larger than this is not a secret file (someone pointed at the wrong path). */
  sharedSecretFileBytesMax: 4_096,
} as const
