import { z } from 'zod'
import { named, prefixedIdSchema } from './common.ts'
import { defineOperation } from './operation.ts'

export const storeSchema = named(
  z.object({
    id: prefixedIdSchema('mer'),
    name: z.string().describe('Display name of the store.'),
  }),
  'Store',
  'The store (merchant) an API key belongs to.',
)

export type Store = z.output<typeof storeSchema>

export const getStore = defineOperation({
  operationId: 'getStore',
  method: 'GET',
  path: '/v1/store',
  summary: 'Get the store of the calling API key',
  description: 'Any valid key of the store may call this; use it to check a key and find its store.',
  tags: ['store'],
  scope: null,
  moneyMoving: false,
  response: storeSchema,
  successStatus: 200,
})
