import { dashboardStreamPath } from '@sluice/sdk/api/dashboard'
import { createSluiceClient, SluiceApiError, type SluiceClient } from '@sluice/sdk/client'
import { useEffect, useState } from 'preact/hooks'

/**
 * The dashboard talks to the gateway only through the SDK: the public API's operations plus the
 * dashboard's own (sdk/src/api/dashboard.ts), authenticated by the HttpOnly session cookie. The client
 * sends no API key; it sends the dashboard header instead (the server's CSRF guard, dashboard-auth.ts).
 */
const dashboardFetch = (input: string, init: RequestInit): Promise<Response> => {
  const headers = new Headers(init.headers)
  headers.delete('authorization')
  headers.set('x-sluice-client', 'dashboard')
  return fetch(input, { ...init, headers, credentials: 'same-origin', cache: 'no-store' })
}

export const client: SluiceClient = createSluiceClient({
  baseUrl: location.origin,
  apiKey: '',
  fetch: dashboardFetch,
})

/** The error code of a failed call ('network' when no answer came). */
export function errorCode(error: unknown): string {
  return error instanceof SluiceApiError ? error.code : 'network'
}

export function isSessionError(error: unknown): boolean {
  return error instanceof SluiceApiError && error.status === 401
}

/** Refetches are merged: a block that writes many events causes one reload per section. */
const reloadDebounceMs = 300
/** Without a stream (it dropped and has not come back), sections reload this often. */
const fallbackPollMs = 30_000

export type LiveState = Readonly<{ revision: number; connected: boolean }>

/**
 * Server-sent events from the outbox (GET /v1/dashboard/stream): every change of the store bumps
 * `revision`, and sections reload. EventSource reconnects by itself; while it is down a slow poll runs.
 */
export function useLiveRevision(enabled: boolean): LiveState {
  const [state, setState] = useState<LiveState>({ revision: 0, connected: false })
  useEffect(() => {
    if (!enabled) return
    let timer: ReturnType<typeof setTimeout> | undefined
    const bump = () => {
      if (timer !== undefined) return
      timer = setTimeout(() => {
        timer = undefined
        setState((previous) => ({ ...previous, revision: previous.revision + 1 }))
      }, reloadDebounceMs)
    }
    const source = new EventSource(dashboardStreamPath)
    source.addEventListener('ready', () => setState((previous) => ({ ...previous, connected: true })))
    source.addEventListener('change', bump)
    source.addEventListener('error', () => setState((previous) => ({ ...previous, connected: false })))
    const poll = setInterval(() => {
      if (source.readyState !== EventSource.OPEN) bump()
    }, fallbackPollMs)
    return () => {
      source.close()
      clearInterval(poll)
      clearTimeout(timer)
    }
  }, [enabled])
  return state
}

export type Loaded<T> = { kind: 'loading' } | { kind: 'ok'; data: T } | { kind: 'error'; code: string }

/** Loads with `load` whenever a dependency (the live revision, a filter) changes; keeps old data meanwhile. */
export function useLoad<T>(
  load: () => Promise<T>,
  dependencies: readonly unknown[],
): [Loaded<T>, () => void] {
  const [state, setState] = useState<Loaded<T>>({ kind: 'loading' })
  const [nonce, setNonce] = useState(0)
  useEffect(() => {
    let current = true
    load().then(
      (data) => current && setState({ kind: 'ok', data }),
      (error: unknown) =>
        current &&
        setState((previous) =>
          previous.kind === 'ok' ? previous : { kind: 'error', code: errorCode(error) },
        ),
    )
    return () => {
      current = false
    }
  }, [...dependencies, nonce])
  return [state, () => setNonce((value) => value + 1)]
}
