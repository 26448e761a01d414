/** Limits of dashboard sessions and sign-in, each with the reason for its value. */
export const sessionLimits = {
  /** A session ends this long after sign-in whatever happens: one working day, then sign in again. */
  sessionLifetimeMs: 8 * 60 * 60 * 1000,
  /** A session unused this long ends: an unattended, unlocked screen should not stay an open treasury. */
  sessionIdleMs: 30 * 60 * 1000,
  /** last_seen_at is written at most this often, so a dashboard's reads do not each cost a write. */
  sessionTouchIntervalMs: 60 * 1000,
  /**
   * Failed sign-ins per login within signInFailureWindowMs before further attempts are refused (429).
   * Five covers typos and a TOTP code that just rolled over; guessing a 6-digit code (with a right
   * password) at 5 per 15 min takes years.
   */
  signInFailuresMax: 5,
  /** The window failed sign-ins are counted over (ms). */
  signInFailureWindowMs: 15 * 60 * 1000,
  /** Shortest password accepted when setting one: a passphrase, not a PIN. */
  passwordLengthMin: 12,
  /** Longest password: bounds the work scrypt does on input a stranger sends. */
  passwordLengthMax: 1024,
  /**
   * scrypt cost (N = 2^15, r = 8, p = 1): 32 MiB and ~100 ms per hash on one core, OWASP's minimum
   * recommendation; sign-ins are rare and rate limited, so the cost lands on guessers, not users.
   */
  scryptCost: 32_768,
  scryptBlockSize: 8,
  scryptParallelization: 1,
  /** scrypt needs 128 × N × r bytes; Node's default maxmem (32 MiB) is exactly that, so allow headroom. */
  scryptMemoryBytesMax: 64 * 1024 * 1024,
  /** Session token entropy (bytes): 256 bits, never guessable. */
  sessionTokenBytes: 32,
} as const

/**
 * Limits of dashboard passkeys (WebAuthn), each with the reason for its value.
 * docs/adr/0019-passkeys.md.
 */
export const passkeyLimits = {
  /**
   * A challenge is good this long after it was issued (ms), and the browser is told the same timeout:
   * WebAuthn recommends 5 minutes when user verification (PIN, fingerprint) is asked for. Longer only
   * widens the window in which a captured, unused challenge could be used.
   */
  challengeLifetimeMs: 5 * 60 * 1000,
  /** Challenge entropy (bytes): 256 bits, never guessable (WebAuthn asks for at least 16 bytes). */
  challengeBytes: 32,
  /**
   * Unused sign-in challenges alive at once, installation-wide. Anyone may ask for one (the person is not
   * known yet), so without a cap a stranger could fill the table; at 5 per second per address (the
   * public rate limit) one address can hold 1,500 within the lifetime, so this admits several sign-ins
   * at a time while an attack from a few addresses only delays passkey sign-in (503), never password sign-in.
   */
  signInChallengesOpenMax: 10_000,
  /** Unused challenges one signed-in person may hold: a few open tabs, not a table full. */
  challengesOpenPerPersonMax: 20,
  /** Passkeys per person: a phone, a laptop, two security keys and spares; the list stays reviewable. */
  passkeysPerPersonMax: 10,
  /** Characters of a passkey's label ("work laptop"), as the column allows. */
  labelLengthMax: 100,
  /** Expired challenges deleted per issued challenge: pruning stays a bounded amount of work. */
  challengePruneBatchMax: 100,
} as const
