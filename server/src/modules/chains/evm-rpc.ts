import type { NetworkConfig } from '../../config/config.types.ts'
import { limits } from '../../config/limits.ts'
import { describeUrlWithoutSecrets } from '../../lib/logger.ts'
import { postJson } from './http-post.ts'
import { headStalenessMs } from './rpc-health.ts'

/** A JSON-RPC error answered by the node (as opposed to a transport failure). */
export class RpcResponseError extends Error {
  override readonly name = 'RpcResponseError'
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

export class RpcUnavailableError extends Error {
  override readonly name = 'RpcUnavailableError'
}

type UrlState = { url: string; failures: number; lastProblem: string | undefined }

export type RpcStatus = {
  network: string
  currentUrl: string
  urls: { url: string; failures: number; lastProblem?: string }[]
}

/**
 * JSON-RPC over HTTP with failover: calls go to the current URL; a transport error, a timeout, an HTTP
 * error or a stale head moves to the next URL in the configured order. Node-level errors (bad params,
 * "too many results") are returned to the caller unchanged: they are answers, not outages.
 */
export class EvmRpc {
  private readonly urls: UrlState[]
  private current = 0
  private requestId = 0

  /** `fetchImpl` replaces the node:http transport (http-post.ts says why that is the default): tests. */
  constructor(
    readonly network: NetworkConfig,
    private readonly fetchImpl?: typeof fetch,
  ) {
    this.urls = network.rpcUrls
      .filter((url) => url.startsWith('http'))
      .map((url) => ({ url, failures: 0, lastProblem: undefined }))
    if (this.urls.length === 0) throw new RpcUnavailableError(`${network.name} has no http(s) RPC URL`)
  }

  /**
   * Calls `method`, trying each URL at most once, starting from the current one. `readAnswer` may take
   * the answer's bytes as they are (large answers: see log-index.ts); when it returns undefined the
   * answer is parsed as usual.
   */
  async call<T>(
    method: string,
    params: readonly unknown[],
    readAnswer?: (body: Buffer) => T | undefined,
  ): Promise<T> {
    let lastError: unknown
    for (let tried = 0; tried < this.urls.length; tried += 1) {
      const state = this.urls[this.current] as UrlState
      try {
        const result = await this.post<T>(state.url, method, params, readAnswer)
        state.failures = 0
        return result
      } catch (error) {
        if (error instanceof RpcResponseError) throw error
        lastError = error
        this.markFailed(state, error instanceof Error ? error.message : String(error))
      }
    }
    throw new RpcUnavailableError(`every RPC URL of ${this.network.name} failed: ${String(lastError)}`)
  }

  /** The head block number; a head older than the staleness bound counts as a failure of that URL. */
  async headBlockNumber(nowMs = Date.now()): Promise<bigint> {
    for (let tried = 0; tried < this.urls.length; tried += 1) {
      const block = await this.call<{ number: string; timestamp: string }>('eth_getBlockByNumber', [
        'latest',
        false,
      ])
      const ageMs = nowMs - Number.parseInt(block.timestamp, 16) * 1000
      if (ageMs <= headStalenessMs(this.network)) return BigInt(block.number)
      this.markFailed(this.urls[this.current] as UrlState, `stale head (${ageMs} ms old)`)
    }
    throw new RpcUnavailableError(`every RPC URL of ${this.network.name} serves a stale head`)
  }

  status(): RpcStatus {
    return {
      network: this.network.name,
      currentUrl: describeUrlWithoutSecrets((this.urls[this.current] as UrlState).url),
      urls: this.urls.map((state) => ({
        url: describeUrlWithoutSecrets(state.url),
        failures: state.failures,
        ...(state.lastProblem === undefined ? {} : { lastProblem: state.lastProblem }),
      })),
    }
  }

  private markFailed(state: UrlState, problem: string): void {
    state.failures += 1
    state.lastProblem = problem
    // Calls run concurrently (a range is read ahead while the tick goes on): two failures of the same
    // URL move on once, not past the next URL.
    if (this.urls[this.current] === state) this.current = (this.current + 1) % this.urls.length
  }

  private async post<T>(
    url: string,
    method: string,
    params: readonly unknown[],
    readAnswer: ((body: Buffer) => T | undefined) | undefined,
  ): Promise<T> {
    this.requestId += 1
    const request = JSON.stringify({ jsonrpc: '2.0', id: this.requestId, method, params })
    const { status, bytes } = await this.send(url, request)
    if (status < 200 || status > 299) throw new Error(`HTTP ${status} from ${describeUrlWithoutSecrets(url)}`)
    const read = readAnswer?.(bytes)
    if (read !== undefined) return read
    const body = JSON.parse(bytes.toString('utf8')) as {
      result?: T
      error?: { code: number; message: string }
    }
    if (body.error !== undefined) throw new RpcResponseError(body.error.code, body.error.message)
    if (!('result' in body)) throw new Error(`no result from ${describeUrlWithoutSecrets(url)}`)
    return body.result as T
  }

  private async send(url: string, body: string): Promise<{ status: number; bytes: Buffer }> {
    if (this.fetchImpl === undefined) return await postJson(url, body, limits.rpcTimeoutMs)
    const response = await this.fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(limits.rpcTimeoutMs),
    })
    return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) }
  }
}
