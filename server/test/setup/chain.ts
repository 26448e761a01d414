import { batchTransferAbi, batchTransferBytecode } from '@sluice/contracts/artifacts/BatchTransfer'
import { bscUsdCloneAbi, bscUsdCloneBytecode } from '@sluice/contracts/artifacts/BscUsdClone'
import { tetherUsdCloneAbi, tetherUsdCloneBytecode } from '@sluice/contracts/artifacts/TetherUsdClone'
import { usdCoinCloneAbi, usdCoinCloneBytecode } from '@sluice/contracts/artifacts/UsdCoinClone'
import { type Abi, createPublicClient, createWalletClient, defineChain, type Hex, http, parseAbi } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { type AnvilInstance, startAnvil } from '../../src/devnet/anvil.ts'
import { devnetMnemonic } from '../../src/devnet/devnet-chains.ts'

// A test chain: anvil in automine mode (a block per transaction; tests mine more with anvil_mine), with
// the USDT clone (6 dp, no return values), the BSC-USD clone (18 dp), a USDC clone and our BatchTransfer
// contract (batch payouts) deployed.
export const transferAbi = parseAbi(['function transfer(address to, uint256 amount)'])
const mintAbi = parseAbi(['function mint(address to, uint256 amount)'])

export type TestChain = Awaited<ReturnType<typeof startTestChain>>

export async function startTestChain(chainId = 31_337) {
  const anvil: AnvilInstance = await startAnvil({ chainId, slotsInAnEpoch: 1 })
  const chain = defineChain({
    id: chainId,
    name: `test-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [anvil.rpcUrl] } },
  })
  const publicClient = createPublicClient({
    chain,
    transport: http(anvil.rpcUrl),
    cacheTime: 0,
    pollingInterval: 50,
  })
  const account = (index: number) => mnemonicToAccount(devnetMnemonic, { addressIndex: index })
  const wallet = (index: number) =>
    createWalletClient({ account: account(index), chain, transport: http(anvil.rpcUrl) })
  const deploy = async (abi: Abi, bytecode: Hex) => {
    const hash = await wallet(0).deployContract({ abi, bytecode })
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    if (receipt.contractAddress === null || receipt.contractAddress === undefined)
      throw new Error('deploy failed')
    return receipt.contractAddress
  }
  const usdt = await deploy(tetherUsdCloneAbi, tetherUsdCloneBytecode)
  const bscUsd = await deploy(bscUsdCloneAbi, bscUsdCloneBytecode)
  const usdc = await deploy(usdCoinCloneAbi, usdCoinCloneBytecode)
  const batchTransfer = await deploy(batchTransferAbi, batchTransferBytecode)
  const rpc = async <T>(method: string, params: unknown[]): Promise<T> => {
    const response = await fetch(anvil.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    })
    const body = (await response.json()) as { result: T; error?: { message: string } }
    if (body.error !== undefined) throw new Error(body.error.message)
    return body.result
  }
  return {
    anvil,
    publicClient,
    tokens: { usdt, bscUsd, usdc },
    batchTransfer,
    account,
    rpc,
    async mint(token: Hex, to: Hex, amount: bigint) {
      const hash = await wallet(0).writeContract({
        address: token,
        abi: mintAbi,
        functionName: 'mint',
        args: [to, amount],
      })
      return await publicClient.waitForTransactionReceipt({ hash })
    },
    /** Sends `amount` of `token` from anvil account `fromIndex` (minting to it first). */
    async pay(token: Hex, fromIndex: number, to: Hex, amount: bigint) {
      await this.mint(token, account(fromIndex).address, amount)
      const hash = await wallet(fromIndex).writeContract({
        address: token,
        abi: transferAbi,
        functionName: 'transfer',
        args: [to, amount],
      })
      return await publicClient.waitForTransactionReceipt({ hash })
    },
    /** The signed raw transaction of a payment, not sent: lets a test re-include it after a reorg. */
    async signPayment(token: Hex, fromIndex: number, to: Hex, amount: bigint): Promise<Hex> {
      await this.mint(token, account(fromIndex).address, amount)
      const request = await wallet(fromIndex).prepareTransactionRequest({
        to: token,
        data: encodeTransfer(to, amount),
        account: account(fromIndex),
        chain,
      })
      return await wallet(fromIndex).signTransaction(request)
    },
    async mine(blocks: number) {
      await rpc('anvil_mine', [`0x${blocks.toString(16)}`])
    },
    async head(): Promise<bigint> {
      return BigInt(await rpc<string>('eth_blockNumber', []))
    },
    stop: () => anvil.stop(),
  }
}

function encodeTransfer(to: Hex, amount: bigint): Hex {
  return `0xa9059cbb${to.slice(2).toLowerCase().padStart(64, '0')}${amount.toString(16).padStart(64, '0')}`
}
