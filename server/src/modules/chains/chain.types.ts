/** One ERC-20 Transfer event, decoded. Addresses are lower-case; the amount is exact. */
export type TokenTransferLog = {
  blockNumber: bigint
  blockHash: string
  txHash: string
  logIndex: number
  tokenAddress: string
  from: string
  to: string
  amount: bigint
}
