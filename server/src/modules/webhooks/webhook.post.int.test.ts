import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deliveryErrorOf } from './webhook.failures.ts'
import { createWebhookPost, type PostRequest, postWebhook } from './webhook.post.ts'

// The POST itself, against real sockets: which address it connects to, and what TLS checks.

type Seen = { host: string | undefined; servername: string | false | null | undefined }
type Receiver = { port: number; seen: Seen[]; connections: () => number; close: () => Promise<void> }

async function listen(server: Server): Promise<Receiver> {
  const seen: Seen[] = []
  let connections = 0
  server.on('connection', () => {
    connections += 1
  })
  server.on('request', (request: IncomingMessage, response) => {
    request.resume()
    request.on('end', () => {
      seen.push({ host: request.headers.host, servername: (request.socket as TLSSocket).servername })
      response.writeHead(200).end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    connections: () => connections,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

const post = (url: string, address: string, timeoutMs = 2_000): PostRequest => ({
  url: new URL(url),
  address,
  headers: { 'content-type': 'application/json' },
  body: '{}',
  timeoutMs,
  signal: new AbortController().signal,
})

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return await promise.then(
    () => undefined,
    (error: unknown) => error,
  )
}

describe('postWebhook connects to the address it is given, whatever its pool holds', () => {
  it('does not reuse a kept-alive socket opened to another address for the same host', async () => {
    const receiver = await listen(createHttpServer())
    const url = `http://hooks.sluice.invalid:${receiver.port}/in`
    // A check that found 127.0.0.1 (an endpoint allowed local receivers): delivered, socket kept alive.
    expect(await postWebhook(post(url, '127.0.0.1'))).toMatchObject({ statusCode: 200 })
    // The next check of the same host found another address (192.0.2.1, TEST-NET-1: nothing answers). The
    // socket to 127.0.0.1 is idle in the pool; the POST must go to 192.0.2.1 or nowhere.
    const error = await failureOf(postWebhook(post(url, '192.0.2.1', 500)))
    expect(error).toBeDefined()
    expect(['timeout', 'host-unreachable', 'connection-refused']).toContain(deliveryErrorOf(error))
    expect(receiver.seen).toHaveLength(1)
    expect(receiver.connections()).toBe(1)
    // The address that passed keeps its pooled socket.
    expect(await postWebhook(post(url, '127.0.0.1'))).toMatchObject({ statusCode: 200 })
    expect(receiver.connections()).toBe(1)
    expect(receiver.seen.map((request) => request.host)).toEqual([
      `hooks.sluice.invalid:${receiver.port}`,
      `hooks.sluice.invalid:${receiver.port}`,
    ])
    await receiver.close()
  })
})

// A self-signed certificate for hooks.sluice.test, made with openssl (as on our CI machines).
const openssl = ['/usr/bin/openssl', '/bin/openssl'].find((path) => existsSync(path))
let certificate = { key: '', cert: '' }
let directory = ''

beforeAll(() => {
  if (openssl === undefined) return
  directory = mkdtempSync(join(tmpdir(), 'sluice-webhook-tls-'))
  const keyPath = join(directory, 'key.pem')
  const certPath = join(directory, 'cert.pem')
  execFileSync(
    openssl,
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '2',
      '-subj',
      '/CN=hooks.sluice.test',
      '-addext',
      'subjectAltName=DNS:hooks.sluice.test',
    ],
    { stdio: 'ignore' },
  )
  certificate = { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') }
})

afterAll(() => {
  if (directory !== '') rmSync(directory, { recursive: true, force: true })
})

describe.skipIf(openssl === undefined)('https: connected to the address, verified against the name', () => {
  it('sends SNI and Host for the name and checks the certificate against it, not against the address', async () => {
    const receiver = await listen(createHttpsServer(certificate))
    const trusting = createWebhookPost({ ca: certificate.cert })
    const url = `https://hooks.sluice.test:${receiver.port}/in`
    expect(await trusting(post(url, '127.0.0.1'))).toMatchObject({ statusCode: 200 })
    expect(receiver.seen).toEqual([
      { host: `hooks.sluice.test:${receiver.port}`, servername: 'hooks.sluice.test' },
    ])
    // The same certificate, trusted, but for a name it does not cover: refused although the address is the same.
    const mismatch = await failureOf(
      trusting(post(`https://other.sluice.test:${receiver.port}/in`, '127.0.0.1')),
    )
    expect((mismatch as { code?: string }).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID')
    expect(deliveryErrorOf(mismatch)).toBe('tls-failed')
    expect(receiver.seen).toHaveLength(1)
    await receiver.close()
  })

  it('classes a self-signed certificate (system CAs) as tls-failed', async () => {
    const receiver = await listen(createHttpsServer(certificate))
    const error = await failureOf(
      postWebhook(post(`https://hooks.sluice.test:${receiver.port}/in`, '127.0.0.1')),
    )
    expect((error as { code?: string }).code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT')
    expect(deliveryErrorOf(error)).toBe('tls-failed')
    expect(receiver.seen).toHaveLength(0)
    await receiver.close()
  })
})
