import { getAddress, isAddress } from 'viem'

/**
 * Destination validation for EVM networks. Only EIP-55 checksummed addresses are accepted: an all
 * lower-case address carries no checksum, so one mistyped character would send the money to a key
 * nobody holds. Tron (`T…`, base58) and every other foreign format is refused on an EVM network.
 */
export type DestinationCheck = Readonly<{ ok: true }> | Readonly<{ ok: false; reason: string }>

export function checkEvmDestination(address: string): DestinationCheck {
  if (/^T[1-9A-HJ-NP-Za-km-z]{33}$/.test(address))
    return { ok: false, reason: 'a Tron address cannot receive on an EVM network' }
  if (!/^0x[0-9a-fA-F]{40}$/.test(address))
    return { ok: false, reason: 'not an EVM address (0x followed by 40 hex digits)' }
  // viem's strict check lets an all-lower-case address through (it has no checksum to verify).
  if (!isAddress(address, { strict: true }) || getAddress(address) !== address)
    return { ok: false, reason: 'not EIP-55 checksummed (use the mixed-case form your wallet shows)' }
  if (/^0x0{40}$/.test(address)) return { ok: false, reason: 'the zero address burns tokens' }
  return { ok: true }
}
