import { type Address, decodeFunctionData, parseAbi } from 'viem'
import { signerCallDataMismatch } from './signer.errors.ts'
import type { DecodedTransfer, PaidItem, SigningRequest } from './signer.types.ts'

/**
 * What a transaction pays, read from its call data, and the check that it pays exactly the approved
 * items. Pure. Only three shapes are signed: ERC-20 `transfer(to, amount)` to the token itself, and the
 * BatchTransfer contract's `batchTransfer` / `batchTransferPooled(token, recipients, amounts)`. Anything
 * else (approve, native value, unknown selectors) is refused: a signer that signs what it cannot read
 * signs anything.
 */
const payingAbi = parseAbi([
  'function transfer(address to, uint256 amount)',
  'function batchTransfer(address token, address[] recipients, uint256[] amounts)',
  'function batchTransferPooled(address token, address[] recipients, uint256[] amounts)',
])

const lower = (address: string) => address.toLowerCase()

/** The transfers a transaction's call data makes; throws `signer-call-data-mismatch` when unreadable. */
export function decodePaidTransfers(transaction: SigningRequest['transaction']): DecodedTransfer[] {
  if (transaction.value !== 0n) throw signerCallDataMismatch('the transaction sends native coin')
  let decoded: ReturnType<typeof decodeFunctionData<typeof payingAbi>>
  try {
    decoded = decodeFunctionData({ abi: payingAbi, data: transaction.data })
  } catch {
    // No cause: viem quotes the call data, which is harmless, but the reason is all the caller needs.
    throw signerCallDataMismatch('unknown function')
  }
  if (decoded.functionName === 'transfer') {
    const [destination, amount] = decoded.args
    return [{ tokenAddress: transaction.to, destination, amount }]
  }
  const [token, recipients, amounts] = decoded.args
  if (recipients.length !== amounts.length)
    throw signerCallDataMismatch('recipients and amounts differ in length')
  return recipients.map((destination: Address, index) => ({
    tokenAddress: token,
    destination,
    amount: amounts[index] ?? 0n,
  }))
}

/**
 * Throws `signer-call-data-mismatch` unless the call data pays the items one for one, in order: same
 * token, destination and amount. Order matters so a batch cannot swap two recipients' amounts.
 */
export function assertCallDataPays(request: Pick<SigningRequest, 'transaction' | 'pays'>): void {
  const transfers = decodePaidTransfers(request.transaction)
  if (transfers.length !== request.pays.length)
    throw signerCallDataMismatch(`${transfers.length} transfer(s) for ${request.pays.length} item(s)`)
  transfers.forEach((transfer, index) => {
    const item = request.pays[index] as PaidItem
    if (lower(transfer.tokenAddress) !== lower(item.tokenAddress))
      throw signerCallDataMismatch(`item ${index} (${item.id}): token`)
    if (lower(transfer.destination) !== lower(item.destination))
      throw signerCallDataMismatch(`item ${index} (${item.id}): destination`)
    if (transfer.amount !== item.amount) throw signerCallDataMismatch(`item ${index} (${item.id}): amount`)
  })
}
