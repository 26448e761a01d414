import { z } from 'zod'
import { named } from './common.ts'
import { defineOperation } from './operation.ts'

// What paying on each network costs the buyer and how long until it is final, for the hosted checkout's
// network selector ("cheaper" / "faster"). An estimate: the network's gas price × a typical ERC-20
// transfer's gas, and its block time × the blocks finality takes.

export const networkFeeSchema = named(
  z.object({
    network: z.string(),
    gas_price_wei: z
      .string()
      .regex(/^[0-9]+$/)
      .nullable()
      .describe('null while the RPC does not answer.'),
    transfer_gas: z
      .string()
      .regex(/^[0-9]+$/)
      .describe('Gas of a typical ERC-20 transfer.'),
    fee_native: z
      .string()
      .nullable()
      .describe("Estimated fee in the network's native coin (decimal string, 18 decimals)."),
    final_seconds: z.int().min(0).describe('Estimated seconds from inclusion to finality.'),
    cheapest: z.boolean().describe('The lowest fee among the networks (when they differ).'),
    fastest: z.boolean().describe('The shortest time to finality among the networks (when they differ).'),
  }),
  'NetworkFee',
  "A network's estimated transfer fee and time to finality.",
)

export type NetworkFeeWire = z.output<typeof networkFeeSchema>

export const getPublicNetworkFees = defineOperation({
  operationId: 'getPublicNetworkFees',
  method: 'GET',
  path: '/v1/public/network-fees',
  summary: 'Fee and speed per network',
  description:
    'For the checkout: the estimated fee of a token transfer and the time to finality on each configured ' +
    'network, with which is cheapest and which is fastest. Estimates, refreshed every few seconds.',
  tags: ['public'],
  scope: 'public',
  moneyMoving: false,
  response: z.object({ data: z.array(networkFeeSchema) }),
  successStatus: 200,
})
