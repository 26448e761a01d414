import { describe, expect, it } from 'vitest'
import type { PostRequest, WebhookPost } from './webhook.post.ts'
import { type SendRequest, sendWebhook } from './webhook.sender.ts'
import type { ResolveHost } from './webhook.types.ts'

const request = (url: string, local = false): SendRequest => ({
  url,
  access: { insecure: false, local },
  secrets: ['whsec_c2x1aWNlLXdlYmhvb2stc2VuZGVyLXVuaXQtdGVzdCE='],
  event: { id: 'evt_1', type: 'invoice.settled', payload: {}, createdAt: new Date('2030-01-01T00:00:00Z') },
  now: new Date('2030-01-01T00:00:01Z'),
})

/** A resolver that answers `answers[n]` to its n-th call (the last one after), counting calls. */
function resolverAnswering(...answers: (readonly string[] | Error)[]): ResolveHost & { calls: () => number } {
  let calls = 0
  const resolve = async () => {
    const answer = answers[Math.min(calls, answers.length - 1)]
    calls += 1
    if (answer instanceof Error) throw answer
    return answer ?? []
  }
  return Object.assign(resolve, { calls: () => calls })
}

/** A post that records where it was asked to connect, and answers 200. */
function recordingPost(): WebhookPost & { addresses: string[] } {
  const addresses: string[] = []
  const post = async (sent: PostRequest) => {
    addresses.push(sent.address)
    return { statusCode: 200, responseExcerpt: null }
  }
  return Object.assign(post, { addresses })
}

const deps = (resolveHost: ResolveHost, post: WebhookPost) => ({
  resolveHost,
  post,
  timeoutMs: 1_000,
  signal: new AbortController().signal,
})

describe('sendWebhook and DNS rebinding', () => {
  it('resolves once per attempt and connects only to the address it checked', async () => {
    // A hostile DNS server: a public address to the check, loopback to whatever asks next.
    const resolveHost = resolverAnswering(['203.0.113.7'], ['127.0.0.1'])
    const post = recordingPost()
    const sent = await sendWebhook(request('https://hooks.example.com/in'), deps(resolveHost, post))
    expect(sent).toMatchObject({ statusCode: 200, error: null })
    expect(resolveHost.calls()).toBe(1)
    expect(post.addresses).toEqual(['203.0.113.7'])
    // The next attempt gets the loopback answer, and the check refuses it before any connection.
    const next = await sendWebhook(request('https://hooks.example.com/in'), deps(resolveHost, post))
    expect(next).toMatchObject({ statusCode: null, error: 'address-refused' })
    expect(post.addresses).toEqual(['203.0.113.7'])
  })

  it('refuses a host with any internal address among its answers, and connects to none of them', async () => {
    const post = recordingPost()
    const sent = await sendWebhook(
      request('https://hooks.example.com/in'),
      deps(resolverAnswering(['203.0.113.7', '10.0.0.5']), post),
    )
    expect(sent).toMatchObject({ statusCode: null, error: 'address-refused' })
    expect(post.addresses).toEqual([])
  })

  it('classes a failed or empty resolution as dns-failed for a local endpoint, and keeps the cause for the log only', async () => {
    const post = recordingPost()
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND hooks.example.com'), {
      code: 'ENOTFOUND',
    })
    const failed = await sendWebhook(
      request('https://hooks.example.com/in', true),
      deps(resolverAnswering(notFound), post),
    )
    expect(failed).toMatchObject({ statusCode: null, error: 'dns-failed', cause: { code: 'ENOTFOUND' } })
    const empty = await sendWebhook(
      request('https://hooks.example.com/in', true),
      deps(resolverAnswering([]), post),
    )
    expect(empty).toMatchObject({ statusCode: null, error: 'dns-failed' })
    expect(post.addresses).toEqual([])
  })

  // A store that registered a public name could turn it into a CNAME to internal names and read from its
  // delivery log which ones the gateway's DNS knows (review, 2026-11-22): its endpoint is answered alike.
  it("answers a store's endpoint alike whether its host does not resolve, resolves to nothing or resolves internally", async () => {
    const post = recordingPost()
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND db.internal.corp'), {
      code: 'ENOTFOUND',
    })
    const results = await Promise.all(
      [resolverAnswering(notFound), resolverAnswering([]), resolverAnswering(['10.20.30.40'])].map(
        (resolve) => sendWebhook(request('https://probe.example.com/in'), deps(resolve, post)),
      ),
    )
    expect(results.map((sent) => [sent.statusCode, sent.error])).toEqual([
      [null, 'address-refused'],
      [null, 'address-refused'],
      [null, 'address-refused'],
    ])
    expect(results[0]?.cause?.code).toBe('ENOTFOUND') // the operator's log still tells them apart
    expect(post.addresses).toEqual([])
  })

  it('classes a failed POST by its code, never by its message', async () => {
    const refused: WebhookPost = async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 203.0.113.7:443'), { code: 'ECONNREFUSED' })
    }
    const sent = await sendWebhook(
      request('https://hooks.example.com/in'),
      deps(resolverAnswering(['203.0.113.7']), refused),
    )
    expect(sent.error).toBe('connection-refused')
    expect(sent.cause).toEqual({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 203.0.113.7:443' })
  })
})
