import { formatUnits, parseUnits } from '@sluice/sdk/money'
import { parseErc20PaymentUri } from '@sluice/sdk/payment-uri'
import {
  type Address,
  createPublicClient,
  createWalletClient,
  erc20Abi,
  type Hex,
  http,
  isAddress,
  parseAbi,
} from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import type { NetworkConfig, TokenConfig } from '../config/config.types.ts'
import { devnetCustomerIndex, devnetDeployerIndex, devnetMnemonic } from './devnet-chains.ts'

/** What a person does on the devnet as a customer: get test tokens, read balances, pay a URI. */
export class DevnetActionError extends Error {
  override readonly name = 'DevnetActionError'
}

// Every devnet token clone has an owner-only mint; USDT's quirks (no return value) do not matter here.
const mintAbi = parseAbi(['function mint(address to, uint256 amount)'])
// The USDT clone's transfer returns nothing: declare it so, or decoding the (empty) result would fail.
const transferAbi = parseAbi(['function transfer(address to, uint256 amount)'])

function httpUrl(network: NetworkConfig): string {
  const url = network.rpcUrls.find((candidate) => candidate.startsWith('http'))
  if (url === undefined) throw new DevnetActionError(`${network.name} has no http RPC URL`)
  return url
}

function clients(network: NetworkConfig, accountIndex: number) {
  const url = httpUrl(network)
  const chain = {
    id: network.chainId,
    name: network.name,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [url] } },
  }
  const account = mnemonicToAccount(devnetMnemonic, { addressIndex: accountIndex })
  return {
    account,
    publicClient: createPublicClient({ chain, transport: http(url, { timeout: 10_000 }) }),
    wallet: createWalletClient({ account, chain, transport: http(url, { timeout: 10_000 }) }),
  }
}

/** Finds `USDT@bsc` among the networks; a bare symbol is accepted when exactly one network has it. */
export function findToken(
  networks: readonly NetworkConfig[],
  assetText: string,
): { network: NetworkConfig; token: TokenConfig } {
  const [symbol = '', networkName] = assetText.split('@')
  const matches = networks.flatMap((network) =>
    network.tokens
      .filter(
        (token) => token.symbol === symbol && (networkName === undefined || network.name === networkName),
      )
      .map((token) => ({ network, token })),
  )
  const available = networks
    .flatMap((network) => network.tokens.map((token) => `${token.symbol}@${network.name}`))
    .join(', ')
  if (matches.length !== 1 || matches[0] === undefined)
    throw new DevnetActionError(`unknown or ambiguous asset "${assetText}" (available: ${available})`)
  return matches[0]
}

function requireAddress(text: string): Address {
  if (!isAddress(text, { strict: false })) throw new DevnetActionError(`"${text}" is not an EVM address`)
  return text
}

/** Mints `amountText` (a decimal amount, e.g. "100") of the asset to `to`, and waits for inclusion. */
export async function fund(
  networks: readonly NetworkConfig[],
  toText: string,
  amountText: string,
  assetText: string,
): Promise<Hex> {
  const to = requireAddress(toText)
  const { network, token } = findToken(networks, assetText)
  const amountMinor = parseUnits(amountText, token.decimals, token.symbol)
  const { publicClient, wallet } = clients(network, devnetDeployerIndex)
  const hash = await wallet.writeContract({
    address: token.contractAddress,
    abi: mintAbi,
    functionName: 'mint',
    args: [to, amountMinor],
  })
  await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 })
  return hash
}

export type BalanceLine = { network: string; asset: string; amount: string }

/** Native and token balances of `address` on every network. */
export async function balances(
  networks: readonly NetworkConfig[],
  addressText: string,
): Promise<BalanceLine[]> {
  const address = requireAddress(addressText)
  const perNetwork = await Promise.all(
    networks.map(async (network) => {
      const { publicClient } = clients(network, devnetDeployerIndex)
      const native = await publicClient.getBalance({ address })
      const tokens = await Promise.all(
        network.tokens.map(async (token) => {
          const minor = await publicClient.readContract({
            address: token.contractAddress,
            abi: erc20Abi,
            functionName: 'balanceOf',
            args: [address],
          })
          return {
            network: network.name,
            asset: `${token.symbol}@${network.name}`,
            amount: formatUnits(minor, token.decimals),
          }
        }),
      )
      return [
        { network: network.name, asset: `ETH@${network.name}`, amount: formatUnits(native, 18) },
        ...tokens,
      ]
    }),
  )
  return perNetwork.flat()
}

/** Pays an EIP-681 ERC-20 URI from the devnet customer account, minting to it first if it is short. */
export async function pay(
  networks: readonly NetworkConfig[],
  uri: string,
): Promise<{ hash: Hex; from: Address; network: string }> {
  const request = parseErc20PaymentUri(uri)
  const network = networks.find((candidate) => candidate.chainId === request.chainId)
  if (network === undefined) throw new DevnetActionError(`no devnet chain with id ${request.chainId}`)
  const token = network.tokens.find(
    (candidate) => candidate.contractAddress.toLowerCase() === request.tokenAddress.toLowerCase(),
  )
  if (token === undefined)
    throw new DevnetActionError(`${request.tokenAddress} is not a token on ${network.name}`)
  const customer = clients(network, devnetCustomerIndex)
  const held = await customer.publicClient.readContract({
    address: token.contractAddress,
    abi: erc20Abi,
    functionName: 'balanceOf',
    args: [customer.account.address],
  })
  if (held < request.amountMinor) {
    await fund(
      networks,
      customer.account.address,
      formatUnits(request.amountMinor - held, token.decimals),
      `${token.symbol}@${network.name}`,
    )
  }
  const hash = await customer.wallet.writeContract({
    address: token.contractAddress,
    abi: transferAbi,
    functionName: 'transfer',
    args: [request.recipient, request.amountMinor],
  })
  await customer.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 })
  return { hash, from: customer.account.address, network: network.name }
}
