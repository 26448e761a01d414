import { AppError } from '../lib/errors.ts'
import { httpLimits } from './http.limits.ts'

export type RateLimitSettings = Readonly<{ requestsPerSecond: number; burst: number; bucketsMax: number }>

export const defaultRateLimitSettings: RateLimitSettings = {
  requestsPerSecond: httpLimits.apiRequestsPerSecond,
  burst: httpLimits.apiRequestsBurst,
  bucketsMax: httpLimits.rateLimitBucketsMax,
}

export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number }

type Bucket = { tokens: number; updatedMs: number }

/**
 * Token bucket per key, in memory. Per process on purpose: an API process is one gateway, and a shared
 * store would put a database round trip in front of every request. The map is an LRU capped at
 * `bucketsMax` (Map keeps insertion order; a touched bucket is moved to the end).
 */
export class TokenBucketRateLimiter {
  readonly #buckets = new Map<string, Bucket>()

  constructor(readonly settings: RateLimitSettings = defaultRateLimitSettings) {}

  take(key: string, nowMs: number): RateLimitDecision {
    const { requestsPerSecond, burst } = this.settings
    const previous = this.#buckets.get(key)
    const elapsedMs = previous === undefined ? 0 : Math.max(0, nowMs - previous.updatedMs)
    const tokens =
      previous === undefined
        ? burst
        : Math.min(burst, previous.tokens + (elapsedMs * requestsPerSecond) / 1000)
    const allowed = tokens >= 1
    this.#buckets.delete(key)
    this.#buckets.set(key, { tokens: allowed ? tokens - 1 : tokens, updatedMs: nowMs })
    this.#evictBeyondCap()
    if (allowed) return { allowed: true }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / requestsPerSecond)) }
  }

  get size(): number {
    return this.#buckets.size
  }

  #evictBeyondCap(): void {
    while (this.#buckets.size > this.settings.bucketsMax) {
      const oldest = this.#buckets.keys().next()
      if (oldest.done === true) return
      this.#buckets.delete(oldest.value)
    }
  }
}

export const rateLimited = (retryAfterSeconds: number) =>
  new AppError('rate-limited', 429, `too many requests for this API key; retry in ${retryAfterSeconds} s`)
