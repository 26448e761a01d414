import { createHash } from 'node:crypto'
import { entropyToMnemonic, mnemonicToEntropy, validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { combine, split } from 'shamir-secret-sharing'
import { type Address, getAddress } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { AppError } from '../../lib/errors.ts'

/**
 * M-of-N Shamir shares of the cold wallet's BIP39 phrase, for offline recovery only (the gateway never
 * holds the cold key; docs/domain/cold-wallet-ceremony.md). The BIP39 entropy plus a 4-byte SHA-256 check
 * is split with `shamir-secret-sharing` (GF(2^8), audited). Plain Shamir cannot tell a wrong
 * reconstruction from a right one, so the check inside the secret makes M−1 shares, a share of another
 * set or a forged share fail loudly instead of yielding a different, valid-looking phrase.
 *
 * A share is one line: `sluice-cold-1-<set>-<M>-<n>-<payload hex>-<check>`. `set` (8 hex) ties the
 * shares of one split together, `M` is the threshold, `n` the share's number for labels, `check` 8 hex of
 * SHA-256 over the rest, so a mistyped share is named before anything is combined. Errors name share
 * numbers and rules, never share content or words.
 */
export const coldShareLimits = {
  /** A ceremony with more custodians than this is not one people can run; also bounds every loop. */
  sharesMax: 16,
  /** One share alone must never suffice, or it is a copy, not a share. */
  thresholdMin: 2,
  /** The whole text given to `combine` (16 shares of a 24-word phrase are ~1.6 KB). */
  inputBytesMax: 16_384,
} as const

const sharePrefix = 'sluice-cold-1'
const sharePattern = /^sluice-cold-1-([0-9a-f]{8})-(\d{1,2})-(\d{1,2})-([0-9a-f]{10,200})-([0-9a-f]{8})$/
const secretCheckBytes = 4

const invalid = (code: string, message: string) => new AppError(code, 422, message)
export const coldSplitInvalid = (message: string) => invalid('cold-split-invalid', message)
export const coldMnemonicInvalid = () =>
  invalid('cold-mnemonic-invalid', 'the input is not a valid BIP39 phrase (English words, 12–24, checksum)')
export const coldShareMalformed = (line: number) =>
  invalid('cold-share-malformed', `line ${line} is not a sluice cold share`)
export const coldShareChecksumInvalid = (line: number) =>
  invalid('cold-share-checksum-invalid', `share on line ${line} has a typo (its check does not match)`)
export const coldSharesMixed = () =>
  invalid('cold-shares-mixed', 'the shares come from different splits (set or threshold differ)')
export const coldShareDuplicate = (share: number) =>
  invalid('cold-share-duplicate', `share ${share} was given twice`)
export const coldSharesBelowThreshold = (given: number, threshold: number) =>
  invalid('cold-shares-below-threshold', `${given} share(s) given; this split needs ${threshold}`)
export const coldSecretCheckFailed = () =>
  invalid(
    'cold-secret-check-failed',
    'the shares do not reconstruct the split secret (wrong or forged share)',
  )
export const coldAddressMismatch = (expected: string, derived: string) =>
  invalid(
    'cold-address-mismatch',
    `the phrase derives ${derived}, not the configured cold address ${expected}`,
  )

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest()

function shareCheck(body: string): string {
  return sha256(body).subarray(0, 4).toString('hex')
}

/** The phrase, normalised (lower case, single spaces); `cold-mnemonic-invalid` unless it is valid BIP39. */
export function normaliseMnemonic(text: string): string {
  const phrase = text.trim().toLowerCase().split(/\s+/).join(' ')
  if (!validateMnemonic(phrase, wordlist)) throw coldMnemonicInvalid()
  return phrase
}

/** The address the cold wallet's phrase controls first: m/44'/60'/0'/0/0, what hardware wallets show. */
export function coldAddressOf(mnemonic: string): Address {
  return getAddress(mnemonicToAccount(normaliseMnemonic(mnemonic)).address)
}

/** Splits the phrase into `shares` lines, any `threshold` of which recover it. */
export async function splitColdMnemonic(
  mnemonic: string,
  options: Readonly<{ threshold: number; shares: number }>,
): Promise<string[]> {
  const { threshold, shares } = options
  if (!Number.isSafeInteger(threshold) || !Number.isSafeInteger(shares))
    throw coldSplitInvalid('threshold and shares must be whole numbers')
  if (threshold < coldShareLimits.thresholdMin || threshold > shares || shares > coldShareLimits.sharesMax)
    throw coldSplitInvalid(
      `need ${coldShareLimits.thresholdMin} ≤ threshold ≤ shares ≤ ${coldShareLimits.sharesMax}`,
    )
  const entropy = mnemonicToEntropy(normaliseMnemonic(mnemonic), wordlist)
  const secret = new Uint8Array(entropy.length + secretCheckBytes)
  secret.set(entropy)
  secret.set(sha256(entropy).subarray(0, secretCheckBytes), entropy.length)
  try {
    const parts = await split(secret, shares, threshold)
    const set = sha256(crypto.getRandomValues(new Uint8Array(16)))
      .subarray(0, 4)
      .toString('hex')
    return parts.map((part, index) => {
      const body = `${sharePrefix}-${set}-${threshold}-${index + 1}-${Buffer.from(part).toString('hex')}`
      part.fill(0)
      return `${body}-${shareCheck(body)}`
    })
  } finally {
    entropy.fill(0)
    secret.fill(0)
  }
}

type ParsedShare = { set: string; threshold: number; number: number; payload: Uint8Array }

function parseShare(line: string, lineNumber: number): ParsedShare {
  const match = sharePattern.exec(line.trim().toLowerCase())
  if (match === null) throw coldShareMalformed(lineNumber)
  const [, set, threshold, number, payload, check] = match
  if (set === undefined || threshold === undefined || number === undefined || payload === undefined)
    throw coldShareMalformed(lineNumber)
  const body = `${sharePrefix}-${set}-${threshold}-${number}-${payload}`
  if (payload.length % 2 !== 0 || check !== shareCheck(body)) throw coldShareChecksumInvalid(lineNumber)
  return {
    set,
    threshold: Number.parseInt(threshold, 10),
    number: Number.parseInt(number, 10),
    payload: new Uint8Array(Buffer.from(payload, 'hex')),
  }
}

/**
 * Recovers the phrase from share lines (blank lines ignored). Refuses malformed or mistyped shares, shares
 * of different splits, a share given twice, fewer than the threshold, and any set that does not
 * reconstruct the checked secret.
 */
export async function combineColdShares(text: string): Promise<string> {
  if (Buffer.byteLength(text) > coldShareLimits.inputBytesMax) throw coldShareMalformed(0)
  const lines = text.split('\n').map((line, index) => ({ line: line.trim(), number: index + 1 }))
  const shares = lines.filter(({ line }) => line !== '').map(({ line, number }) => parseShare(line, number))
  const first = shares[0]
  if (first === undefined) throw coldSharesBelowThreshold(0, coldShareLimits.thresholdMin)
  if (shares.length > coldShareLimits.sharesMax) throw coldShareMalformed(0)
  const seen = new Set<number>()
  const payloads = new Set<string>()
  for (const share of shares) {
    if (
      share.set !== first.set ||
      share.threshold !== first.threshold ||
      share.payload.length !== first.payload.length
    )
      throw coldSharesMixed()
    const payload = Buffer.from(share.payload).toString('hex')
    if (seen.has(share.number) || payloads.has(payload)) throw coldShareDuplicate(share.number)
    seen.add(share.number)
    payloads.add(payload)
  }
  if (shares.length < first.threshold) throw coldSharesBelowThreshold(shares.length, first.threshold)
  let secret: Uint8Array
  try {
    secret = await combine(shares.map((share) => share.payload))
  } catch {
    // The library's messages do not quote shares, but a duplicate x-coordinate is the only thing left here.
    throw coldSecretCheckFailed()
  }
  try {
    const entropy = secret.subarray(0, secret.length - secretCheckBytes)
    const check = secret.subarray(secret.length - secretCheckBytes)
    if (!sha256(entropy).subarray(0, secretCheckBytes).equals(check)) throw coldSecretCheckFailed()
    if (![16, 20, 24, 28, 32].includes(entropy.length)) throw coldSecretCheckFailed()
    return entropyToMnemonic(entropy, wordlist)
  } finally {
    secret.fill(0)
    for (const share of shares) share.payload.fill(0)
  }
}

/** `cold-address-mismatch` unless the phrase controls `expected` (checked before anyone relies on shares). */
export function assertColdAddress(mnemonic: string, expected: string): Address {
  const derived = coldAddressOf(mnemonic)
  if (derived.toLowerCase() !== expected.toLowerCase())
    throw coldAddressMismatch(getAddress(expected), derived)
  return derived
}
