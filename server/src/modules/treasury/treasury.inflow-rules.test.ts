import type { Address, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import type { NetworkConfig } from '../../config/config.types.ts'
import {
  checkInflow,
  coldOpeningId,
  coldOpeningShortfall,
  inflowId,
  inflowReasonProblem,
  nextScanRange,
} from './treasury.inflow-rules.ts'
import type { InflowTransaction } from './treasury.types.ts'

const hot = '0x1111111111111111111111111111111111111111' as Address
const cold = '0x2222222222222222222222222222222222222222' as Address
const stranger = '0x3333333333333333333333333333333333333333' as Address
const usdt = '0x4444444444444444444444444444444444444444' as Address
const other = '0x5555555555555555555555555555555555555555' as Address
const hash = `0x${'ab'.repeat(32)}` as Hex

const network: NetworkConfig = {
  name: 'testnet',
  kind: 'evm',
  chainId: 31_337,
  rpcUrls: ['http://127.0.0.1:1'],
  blockTimeMs: 1_000,
  finality: { kind: 'confirmations', confirmations: 2 },
  tokens: [{ symbol: 'USDT', contractAddress: '0x4444444444444444444444444444444444444444', decimals: 6 }],
  treasury: { coldAddress: '0x2222222222222222222222222222222222222222', hotWallet: {} },
}

const transaction = (change: Partial<InflowTransaction> = {}): InflowTransaction => ({
  hash,
  blockNumber: 100n,
  success: true,
  from: stranger,
  to: usdt,
  value: 0n,
  logs: [
    { logIndex: 0, address: other, transfer: { from: cold, to: hot, amount: 5n } },
    { logIndex: 1, address: usdt, transfer: undefined },
    { logIndex: 2, address: usdt, transfer: { from: cold, to: hot, amount: 7n } },
    { logIndex: 3, address: usdt, transfer: { from: cold, to: stranger, amount: 7n } },
    { logIndex: 4, address: usdt, transfer: { from: cold, to: hot, amount: 0n } },
  ],
  ...change,
})

const check = (tx: InflowTransaction | undefined, logIndex: number | undefined, finalized = 100n) =>
  checkInflow({ network, hotWalletAddress: hot, transaction: tx, finalized, logIndex })

describe('inflow ids', () => {
  it('are one per chain fact, whatever the hash case, and fit the ledger (≤ 100 characters)', () => {
    const id = inflowId('a'.repeat(32), hash, 2_147_483_646)
    expect(id).toMatch(/^hot-inflow:[0-9a-f]{64}$/)
    expect(inflowId('a'.repeat(32), hash.toUpperCase().replace('0X', '0x'), 2_147_483_646)).toBe(id)
    expect(
      new Set([
        inflowId('n', hash, 0),
        inflowId('n', hash, 1),
        inflowId('n', hash, undefined),
        inflowId('m', hash, 0),
      ]).size,
    ).toBe(4)
    expect(coldOpeningId(id)).toBe(`cold-opening:${id.slice(11)}`)
  })
})

describe('the cold wallet opening', () => {
  it('is the part of a top-up its account lacks, never negative', () => {
    expect(coldOpeningShortfall(10n, 0n)).toBe(10n)
    expect(coldOpeningShortfall(10n, 9n)).toBe(1n)
    expect(coldOpeningShortfall(10n, 10n)).toBe(0n)
    expect(coldOpeningShortfall(10n, 11n)).toBe(0n)
    expect(coldOpeningShortfall(10n, -3n)).toBe(10n)
  })
})

describe('scan ranges', () => {
  it('run from the cursor to the finalized block, bounded', () => {
    expect(nextScanRange(10n, 9n, 2_000)).toBeUndefined()
    expect(nextScanRange(10n, 10n, 2_000)).toEqual({ fromBlock: 10n, toBlock: 10n })
    expect(nextScanRange(10n, 5_000n, 2_000)).toEqual({ fromBlock: 10n, toBlock: 2_009n })
    expect(nextScanRange(10n, 2_009n, 2_000)).toEqual({ fromBlock: 10n, toBlock: 2_009n })
  })
})

describe('the reason', () => {
  it('is required, one line, at most 500 characters', () => {
    expect(inflowReasonProblem(undefined)).toMatch(/required/)
    expect(inflowReasonProblem('   ')).toMatch(/required/)
    expect(inflowReasonProblem('x'.repeat(500))).toBeUndefined()
    expect(inflowReasonProblem(` ${'x'.repeat(500)} `)).toBeUndefined()
    expect(inflowReasonProblem('x'.repeat(501))).toMatch(/500/)
    expect(inflowReasonProblem('gas top-up\nforged line')).toMatch(/one line/)
  })
})

describe('what a transaction proves', () => {
  it('a configured token log to the hot wallet, from cold or from anyone else', () => {
    expect(check(transaction(), 2)).toMatchObject({
      kind: 'inflow',
      inflow: { assetId: 'USDT@testnet', amount: 7n, source: 'cold-wallet', logIndex: 2, tokenAddress: usdt },
    })
    const fromStranger = transaction({
      logs: [{ logIndex: 2, address: usdt, transfer: { from: stranger, to: hot, amount: 7n } }],
    })
    expect(check(fromStranger, 2)).toMatchObject({ kind: 'inflow', inflow: { source: 'operator-capital' } })
  })

  it('the native value of a successful transaction to the hot wallet', () => {
    const native = transaction({ to: hot, value: 3n, from: cold, logs: [] })
    expect(check(native, undefined)).toMatchObject({
      kind: 'inflow',
      inflow: {
        assetId: 'ETH@testnet',
        amount: 3n,
        source: 'cold-wallet',
        logIndex: undefined,
        tokenAddress: undefined,
      },
    })
  })

  it('refuses everything else, final block included and one past it not', () => {
    const code = (result: ReturnType<typeof check>) => (result.kind === 'refused' ? result.code : 'inflow')
    expect(code(check(undefined, 2))).toBe('transaction-not-found')
    expect(code(check(transaction(), 2, 99n))).toBe('transaction-not-final')
    expect(code(check(transaction({ success: false }), 2))).toBe('transaction-failed')
    expect(code(check(transaction(), 9))).toBe('log-index-unknown')
    expect(code(check(transaction(), 1))).toBe('log-not-a-transfer')
    expect(code(check(transaction(), 0))).toBe('token-not-configured')
    expect(code(check(transaction(), 3))).toBe('not-to-hot-wallet')
    expect(code(check(transaction(), 4))).toBe('zero-amount')
    expect(code(check(transaction(), undefined))).toBe('not-to-hot-wallet')
    expect(code(check(transaction({ to: hot }), undefined))).toBe('zero-amount')
  })
})
