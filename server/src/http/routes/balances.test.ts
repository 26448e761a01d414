import { assetIdSchema, balanceSchema } from '@sluice/sdk/api/balances'
import { describe, expect, it } from 'vitest'
import type { NetworkConfig } from '../../config/config.types.ts'
import { validateAssetId } from '../../modules/ledger/ledger.state.ts'
import type { AccountBalance } from '../../modules/ledger/ledger.types.ts'
import { balanceToWire, configuredAssets, formatSigned } from './balances.ts'

const network = (name: string, tokens: NetworkConfig['tokens']): NetworkConfig => ({
  name,
  kind: 'evm',
  chainId: 1,
  rpcUrls: ['http://127.0.0.1:1'],
  blockTimeMs: 1000,
  finality: { kind: 'tag' },
  tokens,
})
const address = (digit: string) => `0x${digit.repeat(40)}` as const
const networks = [
  network('ethereum', [{ symbol: 'USDT', contractAddress: address('1'), decimals: 6 }]),
  network('bsc', [{ symbol: 'BSC-USD', contractAddress: address('2'), decimals: 18 }]),
]

describe('asset ids on the wire', () => {
  it('accepts and refuses the same ids as the ledger', () => {
    const samples = [
      'USDT@ethereum',
      'BSC-USD@bsc',
      'USDC.e@arbitrum-one',
      'usdt',
      'USDT@',
      '@bsc',
      'USDT@Eth',
    ]
    for (const sample of [...samples, `${'A'.repeat(17)}@bsc`, `USDT@${'a'.repeat(33)}`]) {
      let ledgerAccepts = true
      try {
        validateAssetId(sample, 'assetId')
      } catch {
        ledgerAccepts = false
      }
      expect(assetIdSchema.safeParse(sample).success, sample).toBe(ledgerAccepts)
    }
  })

  it('lists every configured token as SYMBOL@network, in configuration order', () => {
    expect(configuredAssets(networks).map((asset) => [asset.id, asset.decimals])).toEqual([
      ['USDT@ethereum', 6],
      ['BSC-USD@bsc', 18],
    ])
  })
})

describe('balanceToWire', () => {
  const [usdt, bscUsd] = configuredAssets(networks)
  if (usdt === undefined || bscUsd === undefined) throw new Error('two assets configured')

  it('writes zeros for an asset the store has no account for', () => {
    const wire = balanceToWire(usdt, undefined)
    expect(balanceSchema.parse(wire)).toEqual(wire)
    expect([wire.available, wire.posted, wire.pending_incoming, wire.pending_outgoing]).toEqual([
      '0',
      '0',
      '0',
      '0',
    ])
  })

  it('writes each counter with the asset decimals, incoming on the normal side', () => {
    const balance = {
      account: { normalSide: 'credit' },
      balances: { creditsPosted: 10n ** 18n + 5n, debitsPosted: 0n, creditsPending: 7n, debitsPending: 3n },
      posted: 10n ** 18n + 5n,
      available: 10n ** 18n + 2n,
    } as unknown as AccountBalance
    expect(balanceToWire(bscUsd, balance)).toMatchObject({
      decimals: 18,
      posted: '1.000000000000000005',
      available: '1.000000000000000002',
      pending_incoming: '0.000000000000000007',
      pending_outgoing: '0.000000000000000003',
    })
  })

  it('signs a negative amount instead of failing', () => {
    expect(formatSigned(-1_500_000n, 6)).toBe('-1.5')
    expect(formatSigned(0n, 18)).toBe('0')
  })
})
