import { AppError } from '../../lib/errors.ts'

/** The sweeps module's error codes (stable, kebab-case). Bugs are assertions, not these. */

export const gasStationFundingInvalid = (message: string) =>
  new AppError('gas-station-funding-invalid', 422, message)

/** The RPC answers for another chain than the network's configured chain id: signing would be unsafe. */
export const sweepChainIdMismatch = (network: string, configured: number, served: number) =>
  new AppError(
    'sweep-chain-id-mismatch',
    409,
    `network ${network} is configured as chain ${configured}, its RPC serves chain ${served}`,
  )

export const sweepNetworkUnknown = (network: string) =>
  new AppError('sweep-network-unknown', 422, `no configured network ${network}`)
