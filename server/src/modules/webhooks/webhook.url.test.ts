import { describe, expect, it } from 'vitest'
import { isAppError } from '../../lib/errors.ts'
import { webhookLimits } from './webhook.limits.ts'
import type { ResolveHost } from './webhook.types.ts'
import {
  classifyAddress,
  parseEndpointUrl,
  refusalForAddresses,
  splitCredentials,
  validateEndpointUrl,
} from './webhook.url.ts'

const resolvesTo =
  (...addresses: string[]): ResolveHost =>
  async () =>
    addresses

/** A store's endpoint; one the operator allowed http and link-local; one registered for local receivers. */
const strict = { insecure: false, local: false } as const
const insecure = { insecure: true, local: false } as const
const local = { insecure: false, local: true } as const

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
    return 'accepted'
  } catch (error) {
    if (isAppError(error)) return error.code
    throw error
  }
}

describe('classifyAddress', () => {
  it.each([
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fd00:ec2::254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['172.32.0.1', 'public'],
    ['169.255.0.1', 'public'],
    ['8.8.8.8', 'public'],
    ['2606:4700::1111', 'public'],
  ])('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected)
  })
})

describe('internal hosts (security review, 2026-11-22)', () => {
  it.each([
    ['https://127.0.0.1:5432/', [], 'loopback: the gateway host, e.g. its PostgreSQL'],
    ['https://localhost.attacker.example:6379/', ['127.0.0.1'], 'a name resolving to loopback'],
    ['https://10.0.0.5:8443/', [], 'RFC 1918: the operator LAN'],
    ['https://100.100.100.200/latest/meta-data/', [], 'carrier-grade NAT: a cloud metadata service'],
    ['https://[64:ff9b::a9fe:a9fe]/latest/meta-data/', [], 'NAT64 form of 169.254.169.254'],
    ['https://[::ffff:0:a9fe:a9fe]/', [], 'SIIT form of 169.254.169.254'],
    ['https://[fd12::1]/', [], 'IPv6 unique-local'],
    ['https://198.18.0.1/', [], 'benchmarking range'],
  ])('a store cannot register %s (%s)', async (url, addresses, _why) => {
    expect(await codeOf(validateEndpointUrl(url, strict, resolvesTo(...addresses)))).toBe(
      'webhook-url-refused',
    )
  })

  it('a gateway that allows local receivers accepts loopback and private hosts over https, nothing else', async () => {
    expect(await codeOf(validateEndpointUrl('https://127.0.0.1:9000/in', local, resolvesTo()))).toBe(
      'accepted',
    )
    expect(await codeOf(validateEndpointUrl('https://shop.lan/in', local, resolvesTo('192.168.1.20')))).toBe(
      'accepted',
    )
    // Not http (that takes the operator's allowInsecure), not link-local or metadata.
    expect(await codeOf(validateEndpointUrl('http://127.0.0.1:9000/in', local, resolvesTo()))).toBe(
      'webhook-url-refused',
    )
    expect(await codeOf(validateEndpointUrl('https://169.254.169.254/', local, resolvesTo()))).toBe(
      'webhook-url-refused',
    )
  })

  it('classes NAT64 and SIIT addresses by the IPv4 address they carry', () => {
    expect(classifyAddress('64:ff9b::808:808')).toBe('public')
    expect(classifyAddress('64:ff9b::a00:1')).toBe('private')
    expect(classifyAddress('::ffff:0:7f00:1')).toBe('loopback')
  })
})

describe('endpoint URL validation', () => {
  it('accepts https to a public host', async () => {
    expect(
      await codeOf(validateEndpointUrl('https://shop.example/hooks', strict, resolvesTo('93.184.215.14'))),
    ).toBe('accepted')
  })

  it('refuses http without allowInsecure, even to loopback', async () => {
    expect(await codeOf(validateEndpointUrl('http://127.0.0.1:8080/hook', strict, resolvesTo()))).toBe(
      'webhook-url-refused',
    )
  })

  it('accepts http to loopback and private hosts with allowInsecure', async () => {
    expect(await codeOf(validateEndpointUrl('http://127.0.0.1:8080/hook', insecure, resolvesTo()))).toBe(
      'accepted',
    )
    expect(await codeOf(validateEndpointUrl('http://[::1]:8080/hook', insecure, resolvesTo()))).toBe(
      'accepted',
    )
    expect(
      await codeOf(validateEndpointUrl('http://shop.internal/hook', insecure, resolvesTo('10.0.0.7'))),
    ).toBe('accepted')
  })

  it('refuses http to a public host even with allowInsecure', async () => {
    expect(
      await codeOf(validateEndpointUrl('http://shop.example/hook', insecure, resolvesTo('93.184.215.14'))),
    ).toBe('webhook-url-refused')
    // One public address among private ones is enough to refuse.
    expect(
      await codeOf(
        validateEndpointUrl('http://mixed.example/hook', insecure, resolvesTo('10.0.0.7', '93.184.215.14')),
      ),
    ).toBe('webhook-url-refused')
  })

  it('refuses hosts resolving to link-local/metadata addresses unless allowInsecure', async () => {
    const metadata = resolvesTo('169.254.169.254')
    expect(await codeOf(validateEndpointUrl('https://metadata.example/latest', strict, metadata))).toBe(
      'webhook-url-refused',
    )
    expect(await codeOf(validateEndpointUrl('https://169.254.169.254/latest', strict, metadata))).toBe(
      'webhook-url-refused',
    )
    expect(await codeOf(validateEndpointUrl('https://[::ffff:a9fe:a9fe]/latest', strict, metadata))).toBe(
      'webhook-url-refused',
    )
    expect(await codeOf(validateEndpointUrl('https://0.0.0.0/x', strict, metadata))).toBe(
      'webhook-url-refused',
    )
    expect(await codeOf(validateEndpointUrl('https://metadata.example/latest', insecure, metadata))).toBe(
      'accepted',
    )
  })

  it('refuses hosts that do not resolve', async () => {
    const failing: ResolveHost = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })
    }
    expect(await codeOf(validateEndpointUrl('https://nowhere.example/', strict, failing))).toBe(
      'webhook-url-refused',
    )
    expect(await codeOf(validateEndpointUrl('https://nowhere.example/', strict, resolvesTo()))).toBe(
      'webhook-url-refused',
    )
  })

  it("answers a store's endpoint alike whether its host does not resolve or resolves internally", async () => {
    const failing: ResolveHost = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })
    }
    const refusals = await Promise.all(
      [
        failing,
        resolvesTo(),
        resolvesTo('10.0.0.5'),
        resolvesTo('127.0.0.1'),
        resolvesTo('169.254.169.254'),
      ].map((resolve) =>
        validateEndpointUrl('https://db.internal.example/', strict, resolve).then(
          () => 'accepted',
          (error: { code: string; message: string; details: unknown }) =>
            JSON.stringify([error.code, error.message, error.details]),
        ),
      ),
    )
    expect(new Set(refusals).size).toBe(1)
    expect(refusals[0]).toContain('webhook-url-refused')
    expect(refusals[0]).not.toMatch(/ENOTFOUND|private|loopback|link-local/)
  })

  it('refuses other schemes and non-URLs', () => {
    for (const text of [
      'ftp://shop.example/',
      'file:///etc/passwd',
      'shop.example/hook',
      '',
      'javascript:alert(1)',
    ]) {
      expect(() => parseEndpointUrl(text, true), text).toThrow(
        expect.objectContaining({ code: 'webhook-url-invalid' }),
      )
    }
  })

  it('accepts a URL of exactly urlLengthMax characters and refuses one more', () => {
    const prefix = 'https://shop.example/'
    const atMax = prefix + 'a'.repeat(webhookLimits.urlLengthMax - prefix.length)
    expect(atMax).toHaveLength(webhookLimits.urlLengthMax)
    expect(parseEndpointUrl(atMax, false).toString()).toBe(atMax)
    expect(() => parseEndpointUrl(`${atMax}a`, false)).toThrow(
      expect.objectContaining({ code: 'webhook-url-invalid' }),
    )
  })

  it('checks resolved addresses again at delivery time', () => {
    const url = new URL('https://rebinding.example/hook')
    expect(refusalForAddresses(url, ['93.184.215.14'], strict)).toBeUndefined()
    expect(refusalForAddresses(url, ['169.254.169.254'], strict)).toMatch(/link-local/)
    expect(refusalForAddresses(url, [], strict)).toMatch(/no address/)
  })
})

describe('credentials in URLs', () => {
  it('move into a Basic Authorization header, out of the URL', () => {
    const { url, authorization } = splitCredentials(new URL('https://user:p%40ss@shop.example/hook?x=1'))
    expect(url).toBe('https://shop.example/hook?x=1')
    expect(authorization).toBe(`Basic ${Buffer.from('user:p@ss').toString('base64')}`)
  })
  it('leave URLs without credentials alone', () => {
    expect(splitCredentials(new URL('https://shop.example/hook'))).toEqual({
      url: 'https://shop.example/hook',
      authorization: undefined,
    })
  })
})
