import { describe, expect, it } from 'vitest'
import { httpLimits } from './http.limits.ts'
import { defaultRateLimitSettings, TokenBucketRateLimiter } from './rate-limit.ts'

describe('token bucket rate limiter', () => {
  it('allows exactly the burst at once, then refuses with Retry-After', () => {
    const limiter = new TokenBucketRateLimiter({ requestsPerSecond: 2, burst: 5, bucketsMax: 10 })
    for (let index = 0; index < 5; index += 1) expect(limiter.take('k', 0)).toEqual({ allowed: true })
    expect(limiter.take('k', 0)).toEqual({ allowed: false, retryAfterSeconds: 1 })
  })

  it('refills at the sustained rate: one token after 1/rate seconds, not before', () => {
    const limiter = new TokenBucketRateLimiter({ requestsPerSecond: 2, burst: 1, bucketsMax: 10 })
    expect(limiter.take('k', 0).allowed).toBe(true)
    expect(limiter.take('k', 499).allowed).toBe(false)
    expect(limiter.take('k', 500).allowed).toBe(true)
    // A refused request does not spend a token, and idle time never overfills the bucket.
    expect(limiter.take('k', 60_000).allowed).toBe(true)
    expect(limiter.take('k', 60_000).allowed).toBe(false)
  })

  it('rounds Retry-After up to whole seconds', () => {
    const limiter = new TokenBucketRateLimiter({ requestsPerSecond: 0.25, burst: 1, bucketsMax: 10 })
    limiter.take('k', 0)
    expect(limiter.take('k', 0)).toEqual({ allowed: false, retryAfterSeconds: 4 })
    expect(limiter.take('k', 3_000)).toEqual({ allowed: false, retryAfterSeconds: 1 })
  })

  it('keeps one bucket per key', () => {
    const limiter = new TokenBucketRateLimiter({ requestsPerSecond: 1, burst: 1, bucketsMax: 10 })
    expect(limiter.take('a', 0).allowed).toBe(true)
    expect(limiter.take('a', 0).allowed).toBe(false)
    expect(limiter.take('b', 0).allowed).toBe(true)
  })

  it('caps its memory at bucketsMax, dropping the least recently used bucket', () => {
    const limiter = new TokenBucketRateLimiter({ requestsPerSecond: 1, burst: 1, bucketsMax: 2 })
    limiter.take('a', 0)
    limiter.take('b', 0)
    limiter.take('a', 0) // touches a: b is now the oldest
    limiter.take('c', 0)
    expect(limiter.size).toBe(2)
    expect(limiter.take('a', 0).allowed).toBe(false) // kept: still empty
    expect(limiter.take('b', 0).allowed).toBe(true) // dropped, so it came back full
  })

  it('defaults to the named limits', () => {
    expect(defaultRateLimitSettings).toEqual({
      requestsPerSecond: httpLimits.apiRequestsPerSecond,
      burst: httpLimits.apiRequestsBurst,
      bucketsMax: httpLimits.rateLimitBucketsMax,
    })
  })
})
