import { getAddress } from 'viem'
import { describe, expect, it } from 'vitest'
import { checkEvmDestination } from './payout.address.ts'

const lower = '0x52908400098527886e0f7030069857d2e4169ee7'
const checksummed = getAddress(lower)
/** The checksummed address with one letter's case flipped: a checksum error. */
function flipFirstLetter(address: string): string {
  const index = address.slice(2).search(/[a-fA-F]/) + 2
  const char = address.charAt(index)
  const flipped = char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase()
  return address.slice(0, index) + flipped + address.slice(index + 1)
}

describe('EVM destination check', () => {
  it.each([
    [checksummed, true],
    [lower, false],
    [flipFirstLetter(checksummed), false],
    [`${checksummed.slice(0, -1)}${checksummed.endsWith('7') ? '8' : '7'}`, false],
    ['TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t', false],
    ['bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', false],
    ['0x1234', false],
    ['0x0000000000000000000000000000000000000000', false],
  ])('%s → %s', (address, ok) => {
    expect(checkEvmDestination(address).ok).toBe(ok)
  })

  it('says why a Tron address is refused', () => {
    expect(checkEvmDestination('TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t')).toEqual({
      ok: false,
      reason: 'a Tron address cannot receive on an EVM network',
    })
  })
})
