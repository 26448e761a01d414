import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MoneyError, type MoneyErrorCode, uint256Max } from '../../../sdk/src/money.ts'
import {
  type Asset,
  addAmounts,
  amountOf,
  assetId,
  compareAmounts,
  formatAmount,
  isSameAsset,
  parseAmount,
  requirePositive,
  subtractAmounts,
} from './money.ts'

function codeOf(run: () => unknown): MoneyErrorCode | 'no-error' {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(MoneyError)
    return (error as MoneyError).code
  }
  return 'no-error'
}

const usdt: Asset = {
  id: assetId('USDT', 'ethereum'),
  network: 'ethereum',
  symbol: 'USDT',
  contractAddress: '0xdAC17F958D2ee523a2206206994597C13D831ec7',
  decimals: 6,
}
const bscUsd: Asset = {
  id: assetId('BSC-USD', 'bsc'),
  network: 'bsc',
  symbol: 'BSC-USD',
  contractAddress: '0x55d398326f99059fF775485246999027B3197955',
  decimals: 18,
}

describe('Asset helpers', () => {
  it('builds ids as symbol@network', () => {
    expect(assetId('USDT', 'ethereum')).toBe('USDT@ethereum')
  })

  it('compares assets by identity, decimals and contract (EVM address case-insensitive)', () => {
    expect(isSameAsset(usdt, { ...usdt })).toBe(true)
    expect(isSameAsset(usdt, { ...usdt, contractAddress: usdt.contractAddress.toLowerCase() })).toBe(true)
    expect(isSameAsset(usdt, bscUsd)).toBe(false)
    expect(isSameAsset(usdt, { ...usdt, decimals: 18 })).toBe(false)
    expect(isSameAsset(usdt, { ...usdt, contractAddress: bscUsd.contractAddress })).toBe(false)
  })
})

describe('parseAmount / formatAmount', () => {
  it('parses 18-decimal BSC-USD', () => {
    expect(parseAmount('100', bscUsd).minor).toBe(100n * 10n ** 18n)
    expect(parseAmount('0.000000000000000001', bscUsd).minor).toBe(1n)
  })

  it('parses 6-decimal USDT and formats canonically', () => {
    const amount = parseAmount('12.50', usdt)
    expect(amount).toEqual({ asset: usdt, minor: 12_500_000n })
    expect(formatAmount(amount)).toBe('12.5')
  })

  it('rejects excess precision with the asset symbol in the message', () => {
    try {
      parseAmount('1.0000001', usdt)
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(MoneyError)
      expect((error as MoneyError).code).toBe('amount-precision-exceeded')
      expect((error as MoneyError).message).toContain('USDT allows 6')
    }
  })

  it('rejects bad text and bad asset decimals', () => {
    expect(codeOf(() => parseAmount('1e3', usdt))).toBe('amount-invalid-format')
    expect(codeOf(() => parseAmount('1', { ...usdt, decimals: 40 }))).toBe('decimals-invalid')
  })

  it('round-trips every uint256 through formatAmount/parseAmount', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: uint256Max }), fc.constantFrom(usdt, bscUsd), (minor, asset) => {
        return parseAmount(formatAmount(amountOf(minor, asset)), asset).minor === minor
      }),
    )
  })
})

describe('amountOf', () => {
  it('accepts 0 and uint256Max, rejects -1 and uint256Max + 1', () => {
    expect(amountOf(0n, usdt).minor).toBe(0n)
    expect(amountOf(uint256Max, usdt).minor).toBe(uint256Max)
    expect(codeOf(() => amountOf(-1n, usdt))).toBe('amount-out-of-range')
    expect(codeOf(() => amountOf(uint256Max + 1n, usdt))).toBe('amount-out-of-range')
  })

  it('rejects non-bigint minor units from untyped callers', () => {
    expect(codeOf(() => amountOf(5 as never, usdt))).toBe('amount-invalid-format')
  })
})

describe('arithmetic', () => {
  const a = amountOf(1_500_000n, usdt)
  const b = amountOf(250_000n, usdt)

  it('adds, subtracts and compares amounts of one asset', () => {
    expect(addAmounts(a, b).minor).toBe(1_750_000n)
    expect(subtractAmounts(a, b).minor).toBe(1_250_000n)
    expect(subtractAmounts(a, a).minor).toBe(0n)
    expect(compareAmounts(a, b)).toBe(1)
    expect(compareAmounts(b, a)).toBe(-1)
    expect(compareAmounts(a, amountOf(1_500_000n, { ...usdt }))).toBe(0)
  })

  it('rejects subtracting below zero', () => {
    expect(codeOf(() => subtractAmounts(b, a))).toBe('amount-out-of-range')
  })

  it('rejects adding past uint256Max', () => {
    expect(addAmounts(amountOf(uint256Max - 1n, usdt), amountOf(1n, usdt)).minor).toBe(uint256Max)
    expect(codeOf(() => addAmounts(amountOf(uint256Max, usdt), amountOf(1n, usdt)))).toBe(
      'amount-out-of-range',
    )
  })

  it('rejects mixing assets in every operation', () => {
    const other = amountOf(1n, bscUsd)
    expect(codeOf(() => addAmounts(a, other))).toBe('asset-mismatch')
    expect(codeOf(() => subtractAmounts(a, other))).toBe('asset-mismatch')
    expect(codeOf(() => compareAmounts(a, other))).toBe('asset-mismatch')
    // Same id but disagreeing decimals is a configuration conflict, not the same asset.
    expect(codeOf(() => addAmounts(a, amountOf(1n, { ...usdt, decimals: 18 })))).toBe('asset-mismatch')
  })

  it('add then subtract is the identity, and results stay ordered', () => {
    const half = uint256Max / 2n
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: half }), fc.bigInt({ min: 0n, max: half }), (x, y) => {
        const sum = addAmounts(amountOf(x, usdt), amountOf(y, usdt))
        return (
          subtractAmounts(sum, amountOf(y, usdt)).minor === x && compareAmounts(sum, amountOf(x, usdt)) >= 0
        )
      }),
    )
  })
})

describe('requirePositive', () => {
  it('rejects zero and passes anything above', () => {
    expect(codeOf(() => requirePositive(amountOf(0n, usdt)))).toBe('amount-not-positive')
    expect(requirePositive(amountOf(1n, usdt)).minor).toBe(1n)
  })
})
