import type { HotWalletBand } from '../../config/config.types.ts'
import type { BandPosition } from './treasury.types.ts'

/**
 * The hot wallet against its band, pure. At the floor or the ceiling exactly, nothing is proposed: the
 * band is inclusive, so an operator who sets floor = what they hold is not paged every minute.
 * Below the floor the shortfall (floor − balance) is what a top-up must at least bring; above the
 * ceiling the excess (balance − ceiling) is what is proposed for the cold wallet.
 */
export function bandPosition(balance: bigint, band: HotWalletBand): BandPosition {
  if (balance < band.floorMinor) return { kind: 'below-floor', shortfall: band.floorMinor - balance }
  if (balance > band.ceilingMinor) return { kind: 'above-ceiling', excess: balance - band.ceilingMinor }
  return { kind: 'within' }
}
