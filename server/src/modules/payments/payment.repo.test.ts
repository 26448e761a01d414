import { describe, expect, it } from 'vitest'
import { delimitedColumn } from './payment.repo.ts'

// Observed payments travel to PostgreSQL as one comma-joined text per column (observedColumns): a value
// holding a comma would split in two and shift its column against the others, pairing a payment's amount
// or recipient with another transfer's. It must be refused, never sent.
describe('delimitedColumn', () => {
  it('joins values that hold no comma, one per element', () => {
    expect(delimitedColumn(['0xab', '', 'USDT@ethereum', '12'])).toBe('0xab,,USDT@ethereum,12')
    expect(delimitedColumn(['only'])).toBe('only')
    expect(delimitedColumn([])).toBe('')
  })

  it('refuses a value holding a comma, wherever it is', () => {
    expect(() => delimitedColumn(['0xab', 'a,b'])).toThrow(/holds a comma/)
    expect(() => delimitedColumn([','])).toThrow(/holds a comma/)
    expect(() => delimitedColumn(['x,', 'y'])).toThrow(/holds a comma/)
  })
})
