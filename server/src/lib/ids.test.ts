import { describe, expect, it } from 'vitest'
import { newId } from './ids.ts'

describe('newId', () => {
  it('is the prefix, ten time characters and sixteen random ones in Crockford base 32', () => {
    expect(newId('trf')).toMatch(/^trf_[0-9A-HJKMNP-TV-Z]{26}$/)
  })

  it('encodes the time so that ids sort by creation', () => {
    expect(newId('evt', 0).slice(4, 14)).toBe('0000000000')
    // 2^40 ms = 32^8: a one followed by eight zeros.
    expect(newId('evt', 2 ** 40).slice(4, 14)).toBe('0100000000')
    expect(newId('evt', 1_700_000_000_001).slice(4, 14) > newId('evt', 1_700_000_000_000).slice(4, 14)).toBe(
      true,
    )
  })

  it('draws fresh random characters for every id, across random blocks and within one millisecond', () => {
    const ids = Array.from({ length: 1_000 }, () => newId('acc', 1_700_000_000_000))
    expect(new Set(ids).size).toBe(ids.length)
    expect(new Set(ids.map((id) => id.slice(4, 14))).size).toBe(1)
  })
})
