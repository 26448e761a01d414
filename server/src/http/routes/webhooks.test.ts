import {
  webhookDeliveryErrors,
  webhookDescriptionLengthMax,
  webhookEndpointSchema,
  webhookEndpointsPerStoreMax,
  webhookEventTypes,
  webhookRotationOverlapSecondsDefault,
  webhookRotationOverlapSecondsMax,
  webhookUrlLengthMax,
} from '@sluice/sdk/api/webhooks'
import { describe, expect, it } from 'vitest'
import { eventTypes } from '../../modules/events/event.types.ts'
import { deliveryErrorMessages } from '../../modules/webhooks/webhook.failures.ts'
import { webhookLimits } from '../../modules/webhooks/webhook.limits.ts'
import type { WebhookEndpoint } from '../../modules/webhooks/webhook.types.ts'
import { endpointToWire, maskUrlPassword } from './webhooks.ts'

describe('the SDK copy of webhook constants', () => {
  it('has the same event types as the server, in the same order', () => {
    expect([...webhookEventTypes]).toEqual([...eventTypes])
  })

  it('has the same delivery error classes and messages as the server, in the same order', () => {
    expect(Object.entries(webhookDeliveryErrors)).toEqual(Object.entries(deliveryErrorMessages))
  })

  it('has the same limits as webhookLimits', () => {
    expect([
      webhookEndpointsPerStoreMax,
      webhookUrlLengthMax,
      webhookDescriptionLengthMax,
      webhookRotationOverlapSecondsDefault * 1000,
      webhookRotationOverlapSecondsMax * 1000,
    ]).toEqual([
      webhookLimits.endpointsPerMerchantMax,
      webhookLimits.urlLengthMax,
      webhookLimits.descriptionLengthMax,
      webhookLimits.secretRotationOverlapMsDefault,
      webhookLimits.secretRotationOverlapMsMax,
    ])
  })
})

describe('endpointToWire', () => {
  const endpoint: WebhookEndpoint = {
    id: 'whk_01J00000000000000000000000',
    merchantId: 'mer_01J00000000000000000000000',
    url: 'https://user:hunter2@hooks.example.com/in?x=1',
    description: 'orders',
    eventFilter: ['invoice.settled', 'payment.finalized'],
    allowInsecure: false,
    allowLocal: false,
    enabled: true,
    disabledReason: null,
    disabledAt: null,
    failingSince: null,
    previousSecretExpiresAt: new Date('2030-01-02T00:00:00.000Z'),
    createdAt: new Date('2030-01-01T00:00:00.000Z'),
    updatedAt: new Date('2030-01-01T00:00:00.000Z'),
  }

  it('writes exactly the contract shape, without the store id, and masks a URL password', () => {
    const wire = endpointToWire(endpoint)
    expect(webhookEndpointSchema.parse(wire)).toEqual(wire)
    expect(wire.url).toBe('https://user:***@hooks.example.com/in?x=1')
    expect(JSON.stringify(wire)).not.toContain('hunter2')
    expect(JSON.stringify(wire)).not.toContain('mer_')
  })

  it('leaves URLs without a password as they are', () => {
    for (const url of ['https://hooks.example.com/a', 'https://user@hooks.example.com/a', 'not a url'])
      expect(maskUrlPassword(url)).toBe(url)
  })
})
