import { parseMinorUnits } from './money.ts'

/**
 * EIP-681 payment requests for ERC-20 transfers:
 *   ethereum:<token>@<chainId>/transfer?address=<recipient>&uint256=<minor units>
 * The amount is in minor units (integers only), so a wallet cannot misread decimals.
 */
export type Erc20PaymentRequest = {
  tokenAddress: `0x${string}`
  chainId: number
  recipient: `0x${string}`
  amountMinor: bigint
}

export class PaymentUriError extends Error {
  override readonly name = 'PaymentUriError'
  readonly code = 'payment-uri-invalid'
}

const addressPattern = /^0x[0-9a-fA-F]{40}$/
const uriPattern = /^ethereum:(0x[0-9a-fA-F]{40})@([1-9][0-9]{0,15})\/transfer\?(.+)$/

export function formatErc20PaymentUri(request: Erc20PaymentRequest): string {
  return `ethereum:${request.tokenAddress}@${request.chainId}/transfer?address=${request.recipient}&uint256=${request.amountMinor.toString()}`
}

export function parseErc20PaymentUri(uri: string): Erc20PaymentRequest {
  if (uri.length > 400) throw new PaymentUriError('payment URI longer than 400 characters')
  const match = uriPattern.exec(uri)
  if (match === null)
    throw new PaymentUriError('not an EIP-681 ERC-20 transfer URI (ethereum:<token>@<chainId>/transfer?…)')
  const [, tokenAddress = '', chainIdText = '', query = ''] = match
  const parameters = new URLSearchParams(query)
  const recipient = parameters.get('address') ?? ''
  const amountText = parameters.get('uint256') ?? ''
  if (!addressPattern.test(recipient))
    throw new PaymentUriError('the "address" parameter is not a 20-byte hex address')
  let amountMinor: bigint
  try {
    amountMinor = parseMinorUnits(amountText)
  } catch (error) {
    throw new PaymentUriError(`the "uint256" parameter is not an amount in minor units: ${String(error)}`)
  }
  return {
    tokenAddress: tokenAddress as `0x${string}`,
    chainId: Number.parseInt(chainIdText, 10),
    recipient: recipient as `0x${string}`,
    amountMinor,
  }
}
