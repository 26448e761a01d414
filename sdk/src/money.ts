/**
 * Money core shared by server, SDK and web. Amounts are bigint minor units (wei-like integers),
 * never floating point: a float cannot represent 0.1, and a token with 18 decimals overflows
 * 2^53 at 0.009 units. Parsing rejects anything it cannot represent exactly; it never rounds,
 * because a silently dropped digit is money that goes missing.
 *
 * Pure and dependency-free so browsers and the SDK can import it directly.
 */

/** On-chain token balances are uint256; nothing larger can ever be paid or received. */
export const uint256Max = (1n << 256n) - 1n

/** No real token comes close; the cap keeps string padding and 10^decimals small. */
export const decimalsMax = 36

/**
 * Longest text we look at. The longest valid in-range decimal is 79 characters (the 78 digits of
 * uint256Max plus '.'), so 100 leaves headroom while keeping hostile megabyte inputs out of the
 * regex and out of error messages.
 */
const textLengthMax = 100

export type MoneyErrorCode =
  | 'amount-invalid-format'
  | 'amount-precision-exceeded'
  | 'amount-out-of-range'
  | 'amount-not-positive'
  | 'asset-mismatch'
  | 'decimals-invalid'

export class MoneyError extends Error {
  override readonly name = 'MoneyError'
  readonly code: MoneyErrorCode
  /** The offending input, truncated: errors get logged and serialised, so never carry megabytes. */
  readonly input: string

  constructor(code: MoneyErrorCode, message: string, input: string) {
    super(message)
    this.code = code
    this.input = input.length > textLengthMax ? `${input.slice(0, textLengthMax)}…` : input
  }
}

// Plain decimal only: no sign, exponent, separators, whitespace or leading zeros ("007" could be
// a typo or an octal habit; either way it is not what a careful client sends).
const decimalPattern = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/
const minorUnitsPattern = /^(0|[1-9][0-9]*)$/

/** Quotes user text for messages; JSON escaping keeps control characters and quotes readable. */
function quote(text: string): string {
  const shown = text.length > textLengthMax ? `${text.slice(0, textLengthMax)}…` : text
  return JSON.stringify(shown)
}

/** Decimals come from asset configuration; a bad value is a configuration bug, reported loudly. */
function checkDecimals(decimals: number): void {
  // `% 1` instead of Number.isInteger: the money lint bans the Number namespace outright.
  const valid = typeof decimals === 'number' && decimals >= 0 && decimals <= decimalsMax && decimals % 1 === 0
  if (!valid) {
    throw new MoneyError(
      'decimals-invalid',
      `decimals ${String(decimals)} is not an integer between 0 and ${decimalsMax}`,
      String(decimals),
    )
  }
}

/** Range check shared by every entry point; typeof guards against untyped (web/JSON) callers. */
function checkMinorUnits(minor: bigint, input: string): void {
  if (typeof minor !== 'bigint') {
    throw new MoneyError('amount-invalid-format', `amount ${quote(String(minor))} is not a bigint`, input)
  }
  if (minor < 0n || minor > uint256Max) {
    throw new MoneyError('amount-out-of-range', `amount ${quote(input)} is outside 0..2^256-1`, input)
  }
}

/** Length and type gate before any regex runs. */
function checkText(text: string): void {
  if (typeof text !== 'string') {
    throw new MoneyError('amount-invalid-format', 'amount must be a string', String(text))
  }
  if (text.length > textLengthMax) {
    throw new MoneyError(
      'amount-invalid-format',
      `amount ${quote(text)} is longer than ${textLengthMax} characters`,
      text,
    )
  }
}

/**
 * Decimal string ("12.5") to minor units (12_500_000n at 6 decimals). `unit` only improves the
 * error message (e.g. the asset symbol).
 */
export function parseUnits(text: string, decimals: number, unit?: string): bigint {
  checkDecimals(decimals)
  checkText(text)
  const match = decimalPattern.exec(text)
  const whole = match?.[1]
  if (whole === undefined) {
    throw new MoneyError(
      'amount-invalid-format',
      `amount ${quote(text)} is not a plain decimal like "12.5"`,
      text,
    )
  }
  const fraction = match?.[2] ?? ''
  // Excess digits are rejected even when they are zeros: we never drop what the sender wrote.
  if (fraction.length > decimals) {
    const allowed = unit === undefined ? `at most ${decimals} allowed` : `${unit} allows ${decimals}`
    throw new MoneyError(
      'amount-precision-exceeded',
      `amount ${quote(text)} has ${fraction.length} fraction digits; ${allowed}`,
      text,
    )
  }
  const minor = BigInt(whole + fraction.padEnd(decimals, '0'))
  checkMinorUnits(minor, text)
  return minor
}

/** Minor units to the canonical decimal string: "100", "1.5", "0.000001" (no trailing zeros). */
export function formatUnits(minor: bigint, decimals: number): string {
  checkDecimals(decimals)
  checkMinorUnits(minor, typeof minor === 'bigint' ? minor.toString() : String(minor))
  const digits = minor.toString().padStart(decimals + 1, '0')
  const split = digits.length - decimals
  const whole = digits.slice(0, split)
  const fraction = digits.slice(split).replace(/0+$/, '')
  return fraction === '' ? whole : `${whole}.${fraction}`
}

/** Wire format for minor units: a plain non-negative integer string (JSON cannot carry bigint). */
export function parseMinorUnits(text: string): bigint {
  checkText(text)
  if (!minorUnitsPattern.test(text)) {
    throw new MoneyError(
      'amount-invalid-format',
      `minor units ${quote(text)} must be a non-negative integer without leading zeros`,
      text,
    )
  }
  const minor = BigInt(text)
  checkMinorUnits(minor, text)
  return minor
}

export function formatMinorUnits(minor: bigint): string {
  checkMinorUnits(minor, typeof minor === 'bigint' ? minor.toString() : String(minor))
  return minor.toString()
}
