import type { EventType } from '../events/event.types.ts'
import { webhookLimits } from './webhook.limits.ts'
import type { EventFilter } from './webhook.types.ts'

/** What one attempt's outcome means for its delivery. */
export type AttemptDecision =
  | Readonly<{ kind: 'delivered' }>
  | Readonly<{ kind: 'retry'; delayMs: number }>
  | Readonly<{ kind: 'dead' }>

export type RetrySchedule = Readonly<{ delaysMs: readonly number[]; jitterFraction: number }>

export const defaultRetrySchedule: RetrySchedule = {
  delaysMs: webhookLimits.retryScheduleMs,
  jitterFraction: webhookLimits.retryJitterFraction,
}

/** Only a 2xx acknowledges: a redirect is not followed (it could point anywhere) and counts as a failure. */
export function isSuccessStatus(statusCode: number | null): boolean {
  return statusCode !== null && statusCode >= 200 && statusCode <= 299
}

/** The wait after failed attempt `attempt` (1-based), jittered by ±jitterFraction; undefined when none is left. */
export function retryDelayMs(
  schedule: RetrySchedule,
  attempt: number,
  randomUnit: number,
): number | undefined {
  const baseMs = schedule.delaysMs[attempt - 1]
  if (baseMs === undefined) return undefined
  return Math.round(baseMs * (1 - schedule.jitterFraction + 2 * schedule.jitterFraction * randomUnit))
}

export function attemptsMaxOf(schedule: RetrySchedule): number {
  return schedule.delaysMs.length + 1
}

/** Pure: after attempt `attempt` of a series succeeded or failed, what happens to the delivery. */
export function decideAfterAttempt(input: {
  attempt: number
  succeeded: boolean
  schedule: RetrySchedule
  randomUnit: number
}): AttemptDecision {
  if (input.succeeded) return { kind: 'delivered' }
  const delayMs = retryDelayMs(input.schedule, input.attempt, input.randomUnit)
  return delayMs === undefined ? { kind: 'dead' } : { kind: 'retry', delayMs }
}

/** True when an endpoint failing since `failingSince` has failed long enough to be disabled at `now`. */
export function shouldDisableEndpoint(failingSince: Date | null, now: Date, disableAfterMs: number): boolean {
  return failingSince !== null && now.getTime() - failingSince.getTime() >= disableAfterMs
}

export function filterMatches(filter: EventFilter, eventType: string): boolean {
  return filter === '*' || (filter as readonly string[]).includes(eventType)
}

/** Stored as text[]: `{*}` means every type. */
export function filterToColumn(filter: EventFilter): string[] {
  return filter === '*' ? ['*'] : [...new Set(filter)].sort()
}

export function filterFromColumn(column: readonly string[]): EventFilter {
  return column.includes('*') ? '*' : (column as readonly EventType[])
}
