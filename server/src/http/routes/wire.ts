import type { PaymentWire } from '@sluice/sdk/api/payments'
import { formatUnits } from '@sluice/sdk/money'
import type { NetworkConfig } from '../../config/config.types.ts'
import type { Payment } from '../../modules/payments/payment.types.ts'

/** Wire shapes shared by routes: a payment, and the deposit address as seen per network. */
export function paymentToWire(payment: Payment, networks: readonly NetworkConfig[]): PaymentWire {
  const network = networks.find((candidate) => candidate.name === payment.network)
  const token = network?.tokens.find(
    (candidate) => `${candidate.symbol}@${payment.network}` === payment.assetId,
  )
  return {
    id: payment.id,
    network: payment.network,
    chain_id: network?.chainId ?? 0,
    asset: payment.assetId,
    amount: token === undefined ? null : formatUnits(payment.amount, token.decimals),
    amount_minor: payment.amount.toString(),
    token_address: payment.tokenAddress,
    status: payment.status,
    tx_hash: payment.txHash,
    log_index: payment.logIndex,
    block_number: payment.blockNumber.toString(),
    from: payment.fromAddress,
    to: payment.toAddress,
    detected_at: payment.detectedAt.toISOString(),
    confirmed_at: payment.confirmedAt?.toISOString() ?? null,
    finalized_at: payment.finalizedAt?.toISOString() ?? null,
  }
}

export function depositAddressesToWire(address: string, networks: readonly NetworkConfig[]) {
  return networks.map((network) => ({
    network: network.name,
    chain_id: network.chainId,
    address,
    assets: network.tokens.map((token) => ({
      asset: `${token.symbol}@${network.name}`,
      symbol: token.symbol,
      decimals: token.decimals,
      contract_address: token.contractAddress,
    })),
  }))
}
