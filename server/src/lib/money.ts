/**
 * Amounts tied to an asset. A bare bigint does not say whether it counts 6-decimal USDT or
 * 18-decimal BSC-USD units, and adding the two is a silent 10^12 error; so arithmetic here
 * only happens between amounts of the same asset, and mixing throws 'asset-mismatch'.
 */
import { formatUnits, MoneyError, parseUnits, uint256Max } from '@sluice/sdk/money'

export type Asset = Readonly<{
  /** `${symbol}@${network}`, e.g. 'USDT@ethereum'; see assetId. */
  id: string
  network: string
  symbol: string
  contractAddress: string
  decimals: number
}>

export type Amount = Readonly<{ asset: Asset; minor: bigint }>

export function assetId(symbol: string, network: string): string {
  return `${symbol}@${network}`
}

const evmAddressPattern = /^0x[0-9a-fA-F]{40}$/

/** EVM addresses compare case-insensitively (EIP-55 checksums only change letter case). */
function isSameAddress(a: string, b: string): boolean {
  if (a === b) return true
  return evmAddressPattern.test(a) && evmAddressPattern.test(b) && a.toLowerCase() === b.toLowerCase()
}

/**
 * Same id but different decimals or contract means two configurations disagree about one asset;
 * treating them as different makes arithmetic fail loudly instead of mis-scaling.
 */
export function isSameAsset(a: Asset, b: Asset): boolean {
  return (
    a.id === b.id &&
    a.network === b.network &&
    a.decimals === b.decimals &&
    isSameAddress(a.contractAddress, b.contractAddress)
  )
}

function requireSameAsset(a: Amount, b: Amount): void {
  if (!isSameAsset(a.asset, b.asset)) {
    throw new MoneyError(
      'asset-mismatch',
      `cannot combine ${a.asset.id} with ${b.asset.id}`,
      `${a.asset.id} / ${b.asset.id}`,
    )
  }
}

export function amountOf(minor: bigint, asset: Asset): Amount {
  // Untyped callers (JSON, web) can pass anything; same code as the sdk uses for a non-bigint.
  if (typeof minor !== 'bigint') {
    throw new MoneyError('amount-invalid-format', `${asset.id} amount is not a bigint`, String(minor))
  }
  if (minor < 0n || minor > uint256Max) {
    throw new MoneyError('amount-out-of-range', `${asset.id} amount is outside 0..2^256-1`, String(minor))
  }
  return { asset, minor }
}

/** Decimal text ("12.5") in the asset's units; rejects rather than rounds (see parseUnits). */
export function parseAmount(text: string, asset: Asset): Amount {
  return { asset, minor: parseUnits(text, asset.decimals, asset.symbol) }
}

export function formatAmount(amount: Amount): string {
  return formatUnits(amount.minor, amount.asset.decimals)
}

/** Invoices and payouts of zero make no sense; callers that need > 0 say so with this. */
export function requirePositive(amount: Amount): Amount {
  if (amount.minor <= 0n) {
    throw new MoneyError(
      'amount-not-positive',
      `${amount.asset.id} amount must be greater than zero`,
      amount.minor.toString(),
    )
  }
  return amount
}

export function addAmounts(a: Amount, b: Amount): Amount {
  requireSameAsset(a, b)
  return amountOf(a.minor + b.minor, a.asset)
}

/** Throws 'amount-out-of-range' below zero: a negative balance is never a valid amount. */
export function subtractAmounts(a: Amount, b: Amount): Amount {
  requireSameAsset(a, b)
  return amountOf(a.minor - b.minor, a.asset)
}

export function compareAmounts(a: Amount, b: Amount): -1 | 0 | 1 {
  requireSameAsset(a, b)
  if (a.minor < b.minor) return -1
  return a.minor > b.minor ? 1 : 0
}
