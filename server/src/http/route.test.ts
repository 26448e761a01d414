import { apiScopes, pageSizeDefault, pageSizeMax } from '@sluice/sdk/api/common'
import { apiContract, apiOperations } from '@sluice/sdk/api/contract'
import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { limits } from '../config/limits.ts'
import { createPool } from '../db/pool.ts'
import { AssertionFailure } from '../lib/assert.ts'
import { apiKeyScopes } from '../modules/merchants/merchant.types.ts'
import { assertOperationsRegistered, createRouteDependencies, registerOperation } from './route.ts'
import { registerApiRoutes } from './routes/api.ts'

// No query runs here: registration only. The pool points nowhere on purpose.
const pool = createPool('postgres://nobody@127.0.0.1:1/none', { sizeMax: 1 })
afterAll(async () => await pool.end())

describe('the SDK copy of server constants', () => {
  it('has the same scopes as the server, in the same order', () => {
    expect([...apiScopes]).toEqual([...apiKeyScopes])
  })

  it('has the same page sizes as limits.ts', () => {
    expect([pageSizeDefault, pageSizeMax]).toEqual([limits.pageSizeDefault, limits.pageSizeMax])
  })
})

describe('operation registration', () => {
  it('binds every contract operation exactly once through registerApiRoutes', async () => {
    const app = Fastify()
    registerApiRoutes(app, createRouteDependencies({ pool }))
    expect(() => assertOperationsRegistered(app, apiOperations)).not.toThrow()
    for (const [method, url] of [
      ['GET', '/v1/store'],
      ['POST', '/v1/api-keys'],
      ['GET', '/v1/api-keys'],
      ['DELETE', '/v1/api-keys/:id'],
      ['GET', '/openapi.json'],
      ['GET', '/docs'],
    ] as const)
      expect(app.hasRoute({ method, url }), `${method} ${url}`).toBe(true)
    await app.close()
  })

  it('fails the start-up check when an operation has no handler', async () => {
    const app = Fastify()
    registerOperation(
      app,
      apiContract.getStore,
      async () => ({ id: 'mer_x', name: 'x' }),
      createRouteDependencies({ pool }),
    )
    expect(() => assertOperationsRegistered(app, apiOperations)).toThrow(AssertionFailure)
    expect(() => assertOperationsRegistered(app, apiOperations)).toThrow(/createApiKey/)
    await app.close()
  })

  it('refuses a second handler for the same operation', async () => {
    const app = Fastify()
    const dependencies = createRouteDependencies({ pool })
    const handler = async () => ({ id: 'mer_x', name: 'x' })
    registerOperation(app, apiContract.getStore, handler, dependencies)
    expect(() => registerOperation(app, apiContract.getStore, handler, dependencies)).toThrow(/two handlers/)
    await app.close()
  })
})
