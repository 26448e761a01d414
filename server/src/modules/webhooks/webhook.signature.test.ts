import { Webhook, WebhookVerificationError } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { generateWebhookSecret, isWebhookSecret, signWebhook, webhookHeaders } from './webhook.signature.ts'

// Verification uses the reference `standardwebhooks` package, never our own code: a receiver built on any
// Standard Webhooks library must accept what we send.
const body = JSON.stringify({
  id: 'evt_01',
  type: 'payment.finalized',
  created_at: '2026-01-01T00:00:00.000Z',
  data: { amount: '1000000' },
})
const nowSeconds = () => Math.floor(Date.now() / 1000)

describe('webhook secrets', () => {
  it('are whsec_ + base64 of 32 random bytes, different each time', () => {
    const secret = generateWebhookSecret()
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32)
    expect(isWebhookSecret(secret)).toBe(true)
    expect(generateWebhookSecret()).not.toBe(secret)
  })

  it('rejects malformed secrets', () => {
    expect(isWebhookSecret('whsec_short')).toBe(false)
    expect(isWebhookSecret(generateWebhookSecret().replace('whsec_', 'sk_'))).toBe(false)
  })
})

describe('webhook signatures (verified with the standardwebhooks package)', () => {
  it('verify for the secret that signed them', () => {
    const secret = generateWebhookSecret()
    const headers = webhookHeaders({
      messageId: 'evt_01',
      timestampSeconds: nowSeconds(),
      body,
      secrets: [secret],
    })
    expect(headers['webhook-id']).toBe('evt_01')
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/)
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body))
  })

  it('match the reference implementation byte for byte', () => {
    const secret = generateWebhookSecret()
    const timestamp = nowSeconds()
    expect(signWebhook(secret, 'evt_01', timestamp, body)).toBe(
      new Webhook(secret).sign('evt_01', new Date(timestamp * 1000), body),
    )
  })

  it('fail for another secret, a changed body, a changed id or a stale timestamp', () => {
    const secret = generateWebhookSecret()
    const headers = webhookHeaders({
      messageId: 'evt_01',
      timestampSeconds: nowSeconds(),
      body,
      secrets: [secret],
    })
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow(WebhookVerificationError)
    expect(() => new Webhook(secret).verify(body.replace('1000000', '9000000'), headers)).toThrow(
      WebhookVerificationError,
    )
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'evt_02' })).toThrow(
      WebhookVerificationError,
    )
    const stale = webhookHeaders({
      messageId: 'evt_01',
      timestampSeconds: nowSeconds() - 600,
      body,
      secrets: [secret],
    })
    expect(() => new Webhook(secret).verify(body, stale)).toThrow(WebhookVerificationError)
  })

  it('during a rotation overlap carry one signature per secret, and either secret verifies', () => {
    const current = generateWebhookSecret()
    const previous = generateWebhookSecret()
    const headers = webhookHeaders({
      messageId: 'evt_01',
      timestampSeconds: nowSeconds(),
      body,
      secrets: [current, previous],
    })
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2)
    expect(new Webhook(current).verify(body, headers)).toBeDefined()
    expect(new Webhook(previous).verify(body, headers)).toBeDefined()
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow(WebhookVerificationError)
  })
})
