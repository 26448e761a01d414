import { createHmac, randomBytes } from 'node:crypto'
import { assert } from '../../lib/assert.ts'

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the secret is `whsec_` + base64 of random
 * bytes; the signature is base64 HMAC-SHA256, keyed with the decoded bytes, over `id.timestamp.body`.
 * Signing the timestamp lets receivers refuse replays (their libraries allow 5 minutes of skew).
 */
export const secretPrefix = 'whsec_'
const secretBytes = 32
const secretPattern = /^whsec_[A-Za-z0-9+/]{43}=$/

export function generateWebhookSecret(): string {
  return `${secretPrefix}${randomBytes(secretBytes).toString('base64')}`
}

export function isWebhookSecret(text: string): boolean {
  return secretPattern.test(text)
}

function secretKey(secret: string): Buffer {
  assert(isWebhookSecret(secret), 'a stored webhook secret has the wrong format')
  return Buffer.from(secret.slice(secretPrefix.length), 'base64')
}

/** One `v1,<base64>` signature. */
export function signWebhook(
  secret: string,
  messageId: string,
  timestampSeconds: number,
  body: string,
): string {
  const digest = createHmac('sha256', secretKey(secret))
    .update(`${messageId}.${timestampSeconds}.${body}`)
    .digest('base64')
  return `v1,${digest}`
}

/**
 * The three Standard Webhooks headers. With several secrets (during a rotation's overlap) the signature
 * header lists one signature per secret, space-separated: receivers accept if any matches.
 */
export function webhookHeaders(input: {
  messageId: string
  timestampSeconds: number
  body: string
  secrets: readonly string[]
}): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  assert(input.secrets.length >= 1, 'a webhook is signed with at least one secret')
  return {
    'webhook-id': input.messageId,
    'webhook-timestamp': String(input.timestampSeconds),
    'webhook-signature': input.secrets
      .map((secret) => signWebhook(secret, input.messageId, input.timestampSeconds, input.body))
      .join(' '),
  }
}
