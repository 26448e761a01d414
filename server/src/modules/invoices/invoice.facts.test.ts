import { describe, expect, it } from 'vitest'
import type { Payment } from '../payments/payment.types.ts'
import type { InvoiceRow } from './invoice.repo.ts'
import { factsOf, type InvoiceOptionView } from './invoice.service.ts'
import { meetsDue } from './invoice.state.ts'

// An amount asked at a fiat rate, paid in parts: each payment's value rounds down, so converting them one
// by one and adding up would fall short of the amount due by the roundings. factsOf sums minor units per
// asset and converts once.
const now = new Date('2030-01-01T00:00:00Z')
const row = {
  id: 'inv_x',
  due_value: (1000n * 10n ** 34n).toString(), // 10.00 EUR in value units (10^-36)
  rate: { source: 'static-config', locked_at: now.toISOString(), rates: { USDT: '1.0834' } },
  tolerance_basis_points: 0,
  expires_at: new Date(now.getTime() + 60_000),
  monitoring_until: new Date(now.getTime() + 120_000),
} as unknown as InvoiceRow
const option = {
  network: { name: 'chain-a' },
  token: { symbol: 'USDT', decimals: 6 },
  assetId: 'USDT@chain-a',
  address: '0x',
  amountDueMinor: 10_834_000n,
} as unknown as InvoiceOptionView
const payment = (amount: bigint) =>
  ({ assetId: 'USDT@chain-a', amount, status: 'finalized', detectedAt: now }) as unknown as Payment

describe('invoice facts', () => {
  it('10.00 EUR at 1.0834 USDT/EUR, paid as 5 + 5.834 USDT, meets the amount due; one unit less does not', () => {
    const paid = factsOf(row, [option], [payment(5_000_000n), payment(5_834_000n)], now)
    expect(meetsDue(paid.finalValue, paid.dueValue, 0)).toBe(true)
    const short = factsOf(row, [option], [payment(5_000_000n), payment(5_833_999n)], now)
    expect(meetsDue(short.finalValue, short.dueValue, 0)).toBe(false)
  })
})
