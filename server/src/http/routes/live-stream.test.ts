import { describe, expect, it } from 'vitest'
import type { Pool } from '../../db/pool.ts'
import { isAppError } from '../../lib/errors.ts'
import { createLogger } from '../../lib/logger.ts'
import { LiveEventHub, liveStreamLimits } from './live-stream.ts'

// The stream bound, on both sides. reserve() touches no database, so a pool is not needed here.
const hub = () => new LiveEventHub({} as Pool, createLogger('silent'))

function refusal(reserve: () => unknown): string {
  try {
    reserve()
  } catch (error) {
    if (isAppError(error)) return `${error.httpStatus} ${error.code}`
    throw error
  }
  return 'ok'
}

describe('live streams', () => {
  it('lets one client address hold streamsPerClientMax streams and refuses the next; a release frees one', () => {
    const streams = hub()
    const releases = Array.from({ length: liveStreamLimits.streamsPerClientMax }, () =>
      streams.reserve('1.2.3.4'),
    )
    expect(refusal(() => streams.reserve('1.2.3.4'))).toBe('503 live-streams-exhausted')
    // Another address is not affected.
    expect(refusal(() => streams.reserve('5.6.7.8'))).toBe('ok')
    releases[0]?.()
    releases[0]?.() // a second release of the same slot changes nothing
    expect(refusal(() => streams.reserve('1.2.3.4'))).toBe('ok')
    expect(refusal(() => streams.reserve('1.2.3.4'))).toBe('503 live-streams-exhausted')
  })

  it('holds at most streamsMax streams in the process, from any number of addresses', () => {
    const streams = hub()
    const releases = Array.from({ length: liveStreamLimits.streamsMax }, (_, index) =>
      streams.reserve(`10.0.${Math.floor(index / 250)}.${index % 250}`),
    )
    expect(refusal(() => streams.reserve('192.0.2.1'))).toBe('503 live-streams-exhausted')
    releases.at(-1)?.()
    expect(refusal(() => streams.reserve('192.0.2.1'))).toBe('ok')
  })

  it('keeps the per-client bound below the process bound', () => {
    expect(liveStreamLimits.streamsPerClientMax).toBeLessThan(liveStreamLimits.streamsMax)
    expect(liveStreamLimits.fallbackReadMs).toBeGreaterThan(liveStreamLimits.wakeDebounceMs)
    expect(liveStreamLimits.heartbeatMs).toBeLessThan(liveStreamLimits.streamLifetimeMs)
  })
})
