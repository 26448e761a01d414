import { apiOperations } from '@sluice/sdk/api/contract'
import { operationErrors } from '@sluice/sdk/api/operation'
import { describe, expect, it } from 'vitest'
import type { JsonSchema } from '../openapi.ts'
import { clientBucketKey } from '../route.ts'
import { buildServedOpenApiDocument } from './api.ts'
import { explorerTransactionUrl } from './public.ts'

describe('public rate-limit buckets', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:10.0.0.7', '::ffff:10.0.0.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ])('puts %s in bucket %s', (address, bucket) => {
    expect(clientBucketKey(address)).toBe(bucket)
  })
})

describe('the served OpenAPI document', () => {
  const document = buildServedOpenApiDocument()
  const operations = Object.values(document.paths).flatMap((item) => Object.values(item))

  it('gives every public operation, and only them, an empty security requirement', () => {
    for (const operation of operations) {
      const isPublic = operation['x-sluice-scope'] === 'public'
      expect(operation.security, String(operation.operationId)).toEqual(isPublic ? [] : [expect.anything()])
      if (isPublic) expect(Object.keys(operation.responses as object)).not.toContain('401')
    }
    const publicCount = apiOperations.filter((operation) => operation.scope === 'public').length
    expect(operations.filter((operation) => operation['x-sluice-scope'] === 'public')).toHaveLength(
      publicCount + 1,
    )
  })

  it('documents the QR route with image content and its error codes', () => {
    const qr = document.paths['/v1/public/invoices/{id}/qr']?.get as JsonSchema
    const responses = qr.responses as Record<string, JsonSchema>
    expect(Object.keys(responses['200']?.content as object)).toEqual(['image/svg+xml', 'image/png'])
    expect(Object.keys(responses)).toEqual(expect.arrayContaining(['404', '422', '429', '500']))
    expect((qr.parameters as JsonSchema[]).map((parameter) => parameter.name)).toEqual([
      'id',
      'network',
      'format',
    ])
  })

  it('lists the refund and payment-link codes under their statuses', () => {
    const codes = (id: string) =>
      operationErrors(apiOperations.find((operation) => operation.operationId === id) as never).map(
        (spec) => `${spec.status} ${spec.code}`,
      )
    expect(codes('createRefund')).toEqual(
      expect.arrayContaining([
        '409 refund-exceeds-balance',
        '409 refund-buyer-credit-pending',
        '422 refund-exceeds-refundable',
        '400 idempotency-key-required',
      ]),
    )
    expect(codes('submitRefundDestination')).toEqual(
      expect.arrayContaining(['410 refund-link-used', '422 destination-invalid']),
    )
    expect(codes('openPaymentLink')).toEqual(
      expect.arrayContaining(['410 payment-link-used', '410 payment-link-inactive']),
    )
  })
})

describe('explorer links on the checkout', () => {
  const hash = `0x${'ab'.repeat(32)}`
  it('links the transaction on a network with an explorer, with or without a trailing slash', () => {
    expect(explorerTransactionUrl('https://etherscan.io', hash)).toBe(`https://etherscan.io/tx/${hash}`)
    expect(explorerTransactionUrl('https://bscscan.com/', hash)).toBe(`https://bscscan.com/tx/${hash}`)
  })
  it('gives none where no explorer is configured (devnets)', () => {
    expect(explorerTransactionUrl(undefined, hash)).toBeNull()
  })
})
