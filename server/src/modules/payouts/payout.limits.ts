/**
 * Limits of batch payouts, canaries and the address book (docs/adr/0015-batch-and-canary-payouts.md),
 * each with its unit and reason. Amounts on the 18-decimal scale count 1:1 across stablecoins, as in the
 * policy (payout.policy.ts scaledAmount).
 */
export const payoutLimits = {
  /**
   * Wrong one-time codes per approver within approverTotpFailureWindowMs before every code is refused
   * (429), the right one too: as dashboard sign-in (session.limits.ts), five covers typos and a code
   * that just rolled over, and guessing six digits at 5 per 15 min takes years.
   */
  approverTotpFailuresMax: 5,
  /** The window wrong codes are counted over (ms). */
  approverTotpFailureWindowMs: 15 * 60 * 1000,
  /** Items in one `POST /v1/payouts/batch`: the 1,000, and a 1 MiB body holds that many. */
  requestBatchItemsMax: 1_000,
  /**
   * Payouts in one BatchTransfer transaction. A new holder costs ≈ 27k gas (contracts/README.md), so 400
   * items ≈ 11M gas, well inside EIP-7825's 16,777,216 per-transaction cap (≈ 620 new holders), and a
   * revert touches at most 400 payouts (custody-policy-txmanager.md §5.2: "plan ≤ 400 per batch").
   */
  batchItemsMax: 400,
  /** A batch needs at least two payouts of one token; one alone goes as a plain transfer. */
  batchItemsMin: 2,
  /** Gas limit = the estimate + 20 %: the estimate is exact for this state, but holders change between blocks. */
  batchGasHeadroomPercent: 120n,
  /** A new address-book entry receives nothing for 24 h (issue 6): time to notice a swapped address. */
  cooldownSecondsDefault: 86_400,
  /** At most 30 days: a longer cooldown is a block; remove the entry instead. */
  cooldownSecondsMax: 2_592_000,
  /** A first payout to a never-paid address above 1,000 units sends a canary first (18-decimal scale). */
  canaryThresholdScaledDefault: 1_000n * 10n ** 18n,
  /** The canary: 1 unit (18-decimal scale), enough to show the destination receives, small to lose. */
  canaryAmountScaledDefault: 10n ** 18n,
  /** Address-book entries listed per request. */
  addressBookPageMax: 100,
} as const
