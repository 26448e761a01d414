/** Limits of the sanctions module, each with the reason for its value (same convention as config/limits.ts). */
export const sanctionLimits = {
  /**
   * Addresses per `screenAddresses` call. One `= any($1)` query; 1,000 keys stay a single index scan per key
   * well inside the statement timeout, and cover a payout batch (the request body limit fits 1,000 payouts).
   */
  screenBatchSizeMax: 1_000,
  /**
   * Longest address accepted, in characters. The longest real formats are Monero integrated addresses
   * (106) and bech32 (90); anything longer is not an address, so list lines and screening input beyond
   * this are rejected instead of being indexed.
   */
  addressLengthMax: 128,
  /** Largest list file read (bytes). The whole OFAC SDN address set is under 100 kB; 16 MiB bounds memory. */
  listFileBytesMax: 16 * 1024 * 1024,
  /** Distinct addresses in one list version: bounds the import transaction (OFAC lists hold hundreds). */
  listEntriesMax: 200_000,
  /** Rows per insert statement, so one statement never carries an unbounded parameter array. */
  insertChunkRows: 5_000,
  /** Invalid lines quoted in an import report; the rest are only counted. */
  invalidSamplesMax: 20,
  /** Files in one import run: each becomes its own transaction, so the run stays bounded. */
  filesPerImportMax: 200,
} as const
