import { describe, expect, it } from 'vitest'
import { formatErc20PaymentUri, parseErc20PaymentUri } from './payment-uri.ts'

const token = '0xdAC17F958D2ee523a2206206994597C13D831ec7'
const recipient = '0x1111111111111111111111111111111111111111'

describe('EIP-681 payment URIs', () => {
  it('round-trips an 18-decimal amount exactly', () => {
    const request = { tokenAddress: token, chainId: 56, recipient, amountMinor: 100n * 10n ** 18n } as const
    const uri = formatErc20PaymentUri(request)
    expect(uri).toBe(`ethereum:${token}@56/transfer?address=${recipient}&uint256=100000000000000000000`)
    expect(parseErc20PaymentUri(uri)).toEqual(request)
  })

  it.each([
    ['no chain id', `ethereum:${token}/transfer?address=${recipient}&uint256=1`],
    ['scientific amount', `ethereum:${token}@1/transfer?address=${recipient}&uint256=1e6`],
    ['decimal amount', `ethereum:${token}@1/transfer?address=${recipient}&uint256=1.5`],
    ['bad recipient', `ethereum:${token}@1/transfer?address=0x12&uint256=1`],
    ['missing amount', `ethereum:${token}@1/transfer?address=${recipient}`],
    ['other scheme', `bitcoin:${token}@1/transfer?address=${recipient}&uint256=1`],
  ])('rejects %s with payment-uri-invalid', (_case, uri) => {
    expect(() => parseErc20PaymentUri(uri)).toThrow(expect.objectContaining({ code: 'payment-uri-invalid' }))
  })
})
