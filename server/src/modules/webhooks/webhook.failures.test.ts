import { describe, expect, it } from 'vitest'
import {
  deliveryErrorMessages,
  deliveryErrorOf,
  deliveryErrorOfStored,
  deliveryErrors,
  failureCause,
} from './webhook.failures.ts'

const withCode = (code: string, message = `${code} 10.0.0.5:443`) =>
  Object.assign(new Error(message), { code })

describe('deliveryErrorOf', () => {
  it.each([
    ['ECONNREFUSED', 'connection-refused'],
    ['ECONNRESET', 'connection-reset'],
    ['EPIPE', 'connection-reset'],
    ['ERR_STREAM_PREMATURE_CLOSE', 'connection-reset'],
    ['ETIMEDOUT', 'timeout'],
    ['ENETUNREACH', 'host-unreachable'],
    ['EHOSTUNREACH', 'host-unreachable'],
    ['ENOTFOUND', 'dns-failed'],
    ['EAI_AGAIN', 'dns-failed'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls-failed'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'tls-failed'],
    ['CERT_HAS_EXPIRED', 'tls-failed'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls-failed'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls-failed'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls-failed'],
    ['EPROTO', 'tls-failed'],
    ['HPE_INVALID_CONSTANT', 'response-invalid'],
    ['ABORT_ERR', 'aborted'],
    ['ESOMETHINGNEW', 'other'],
  ])('%s is %s', (code, expected) => {
    expect(deliveryErrorOf(withCode(code))).toBe(expected)
  })

  it('classes errors without a code by name, else as other', () => {
    expect(deliveryErrorOf(Object.assign(new Error('x'), { name: 'AbortError' }))).toBe('aborted')
    expect(deliveryErrorOf(new Error('connect ECONNREFUSED 10.0.0.5:443'))).toBe('other')
    expect(deliveryErrorOf('a string')).toBe('other')
    expect(deliveryErrorOf(null)).toBe('other')
  })
})

describe('deliveryErrorOfStored', () => {
  it('shows rows written before the classes as their class, never as the stored text', () => {
    expect(
      [
        'ECONNREFUSED',
        'ECONNREFUSED 10.0.0.5:443',
        'timeout',
        'dns: ENOTFOUND',
        'address-refused: the host resolves to a loopback or private address',
        'endpoint disabled',
        'DEPTH_ZERO_SELF_SIGNED_CERT',
        'Error',
        'connect EHOSTUNREACH 10.0.0.5:443 - Local (0.0.0.0:0)',
        '',
      ].map(deliveryErrorOfStored),
    ).toEqual([
      'connection-refused',
      'connection-refused',
      'timeout',
      'dns-failed',
      'address-refused',
      'endpoint-disabled',
      'tls-failed',
      'other',
      'other',
      'other',
    ])
  })

  it('passes classes and null unchanged', () => {
    for (const name of deliveryErrors) expect(deliveryErrorOfStored(name)).toBe(name)
    expect(deliveryErrorOfStored(null)).toBeNull()
  })
})

describe('the classes', () => {
  it('are kebab-case, each with a short fixed message naming no address or port', () => {
    expect(deliveryErrors.length).toBeGreaterThan(5)
    for (const name of deliveryErrors) {
      expect(name).toMatch(/^[a-z]+(-[a-z]+)*$/)
      const message = deliveryErrorMessages[name]
      expect(message.length, name).toBeLessThanOrEqual(120)
      expect(message, name).not.toMatch(/\d/)
    }
  })
})

describe('failureCause', () => {
  it('keeps the code and a bounded message for the log, not the error object (a parse error carries the raw answer)', () => {
    const parseError = Object.assign(new Error('Parse Error: Expected HTTP/'), {
      code: 'HPE_INVALID_CONSTANT',
      rawPacket: Buffer.from('secret answer body'),
    })
    expect(failureCause(parseError)).toEqual({
      code: 'HPE_INVALID_CONSTANT',
      message: 'Parse Error: Expected HTTP/',
    })
    expect(failureCause(new Error('x'.repeat(1_000))).message).toHaveLength(300)
    expect(failureCause(withCode('ECONNREFUSED'))).toEqual({
      code: 'ECONNREFUSED',
      message: 'ECONNREFUSED 10.0.0.5:443',
    })
  })
})
