import { describe, expect, it } from 'vitest'
import { bandPosition } from './treasury.band.ts'

const band = { floorMinor: 1_000n, ceilingMinor: 5_000n }

describe('bandPosition', () => {
  it('asks for a top-up only below the floor', () => {
    expect(bandPosition(999n, band)).toEqual({ kind: 'below-floor', shortfall: 1n })
    expect(bandPosition(1_000n, band)).toEqual({ kind: 'within' })
    expect(bandPosition(0n, band)).toEqual({ kind: 'below-floor', shortfall: 1_000n })
  })

  it('proposes the excess only above the ceiling', () => {
    expect(bandPosition(5_000n, band)).toEqual({ kind: 'within' })
    expect(bandPosition(5_001n, band)).toEqual({ kind: 'above-ceiling', excess: 1n })
  })
})
