import {
  type Abi,
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  erc20Abi,
  getAddress,
  type Hash,
  type Hex,
  http,
  keccak256,
  maxUint256,
  parseEventLogs,
  slice,
  toHex,
} from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AnvilInstance, startAnvil } from '../../server/src/devnet/anvil.ts'
import { batchTransferAbi, batchTransferBytecode } from '../artifacts/BatchTransfer.ts'
import { bscUsdCloneAbi, bscUsdCloneBytecode } from '../artifacts/BscUsdClone.ts'
import { tetherUsdCloneAbi, tetherUsdCloneBytecode } from '../artifacts/TetherUsdClone.ts'
import { usdCoinCloneAbi, usdCoinCloneBytecode } from '../artifacts/UsdCoinClone.ts'

// anvil's default mnemonic: its first accounts are pre-funded with ETH (checked against eth_accounts below).
const mnemonic = 'test test test test test test test test test test test junk'
const owner = mnemonicToAccount(mnemonic, { addressIndex: 0 })
const alice = mnemonicToAccount(mnemonic, { addressIndex: 1 })
const bob = mnemonicToAccount(mnemonic, { addressIndex: 2 })

const usd6 = (whole: bigint): bigint => whole * 10n ** 6n
const usd18 = (whole: bigint): bigint => whole * 10n ** 18n

function makeClients(rpcUrl: string) {
  const transport = http(rpcUrl)
  return {
    publicClient: createPublicClient({ chain: foundry, transport, pollingInterval: 20, cacheTime: 0 }),
    wallet: createWalletClient({ chain: foundry, transport, account: owner, pollingInterval: 20 }),
  }
}

let anvil: AnvilInstance | undefined
let clients: ReturnType<typeof makeClients>
const gasReport: { token: string; method: string; recipients: string; gasUsed: bigint; perItem: bigint }[] =
  []

beforeAll(async () => {
  anvil = await startAnvil({ chainId: 31337 })
  clients = makeClients(anvil.rpcUrl)
  const accounts = await clients.wallet.request({ method: 'eth_accounts' })
  expect(accounts.slice(0, 3).map((account) => getAddress(account))).toEqual([
    owner.address,
    alice.address,
    bob.address,
  ])
})

afterAll(async () => {
  await anvil?.stop()
  if (gasReport.length > 0) {
    const rows = gasReport.map((row) => ({
      ...row,
      gasUsed: Number(row.gasUsed),
      perItem: Number(row.perItem),
    }))
    console.log('BatchTransfer gas, 200 items per transaction (receipt gasUsed incl. 21000 base):')
    console.table(rows)
  }
})

async function confirm(hash: Promise<Hash>) {
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash: await hash })
  expect(receipt.status).toBe('success')
  return receipt
}

async function deploy(abi: Abi, bytecode: Hex): Promise<Address> {
  const receipt = await confirm(clients.wallet.deployContract({ abi, bytecode }))
  if (!receipt.contractAddress) throw new Error('deployment has no contract address')
  return receipt.contractAddress
}

/** Expects a contract revert with the given custom error (decoded through the ABI the call was made with). */
async function expectRevert(promise: Promise<unknown>, errorName: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  expect(error, `expected a revert with ${errorName}`).toBeInstanceOf(BaseError)
  const reverted = (error as BaseError).walk((cause) => cause instanceof ContractFunctionRevertedError)
  expect(reverted, String(error)).toBeInstanceOf(ContractFunctionRevertedError)
  expect((reverted as ContractFunctionRevertedError).data?.errorName).toBe(errorName)
}

async function rawCall(from: Address, to: Address, data: Hex): Promise<Hex> {
  return await clients.publicClient.request({ method: 'eth_call', params: [{ from, to, data }, 'latest'] })
}

describe('TetherUsdClone (USDT quirks)', () => {
  let usdt: Address
  const balance = (account: Address) =>
    clients.publicClient.readContract({
      address: usdt,
      abi: tetherUsdCloneAbi,
      functionName: 'balanceOf',
      args: [account],
    })
  const transfer = (from: typeof owner, to: Address, amount: bigint) =>
    clients.wallet.writeContract({
      address: usdt,
      abi: tetherUsdCloneAbi,
      functionName: 'transfer',
      args: [to, amount],
      account: from,
    })
  const ownerCall = (
    functionName: 'pause' | 'unpause' | 'addBlackList' | 'removeBlackList',
    args: [Address] | [] = [],
  ) =>
    functionName === 'addBlackList' || functionName === 'removeBlackList'
      ? clients.wallet.writeContract({
          address: usdt,
          abi: tetherUsdCloneAbi,
          functionName,
          args: args as [Address],
        })
      : clients.wallet.writeContract({ address: usdt, abi: tetherUsdCloneAbi, functionName })

  beforeAll(async () => {
    usdt = await deploy(tetherUsdCloneAbi, tetherUsdCloneBytecode)
  })

  it('has the mainnet metadata; decimals is a uint256 that erc20Abi still reads as 6', async () => {
    const read = <F extends 'name' | 'symbol' | 'decimals' | 'owner'>(functionName: F) =>
      clients.publicClient.readContract({ address: usdt, abi: tetherUsdCloneAbi, functionName })
    expect(await read('name')).toBe('Tether USD')
    expect(await read('symbol')).toBe('USDT')
    expect(await read('decimals')).toBe(6n)
    expect(await read('owner')).toBe(owner.address)
    const viaErc20 = await clients.publicClient.readContract({
      address: usdt,
      abi: erc20Abi,
      functionName: 'decimals',
    })
    expect(viaErc20).toBe(6)
  })

  it('mints exact 6-decimal amounts; issue() credits the owner with an Issue event and no Transfer', async () => {
    await confirm(
      clients.wallet.writeContract({
        address: usdt,
        abi: tetherUsdCloneAbi,
        functionName: 'mint',
        args: [alice.address, 1_234_567_890_123_456n],
      }),
    )
    expect(await balance(alice.address)).toBe(1_234_567_890_123_456n)
    const receipt = await confirm(
      clients.wallet.writeContract({
        address: usdt,
        abi: tetherUsdCloneAbi,
        functionName: 'issue',
        args: [usd6(1_000n)],
      }),
    )
    const events = parseEventLogs({ abi: tetherUsdCloneAbi, logs: receipt.logs })
    expect(events.map((event) => event.eventName)).toEqual(['Issue'])
    expect(await balance(owner.address)).toBe(1_000_000_000n)
    expect(
      await clients.publicClient.readContract({
        address: usdt,
        abi: tetherUsdCloneAbi,
        functionName: 'totalSupply',
      }),
    ).toBe(1_234_567_890_123_456n + 1_000_000_000n)
    await expectRevert(
      clients.wallet.writeContract({
        address: usdt,
        abi: tetherUsdCloneAbi,
        functionName: 'mint',
        args: [alice.address, 1n],
        account: alice,
      }),
      'NotOwner',
    )
  })

  it('transfer returns no data at all (raw eth_call result is 0x), so a bool-expecting ABI cannot decode it', async () => {
    const data = encodeFunctionData({
      abi: tetherUsdCloneAbi,
      functionName: 'transfer',
      args: [bob.address, 1n],
    })
    expect(await rawCall(owner.address, usdt, data)).toBe('0x')
    const approveData = encodeFunctionData({
      abi: erc20Abi,
      functionName: 'approve',
      args: [bob.address, 1n],
    })
    expect(await rawCall(owner.address, usdt, approveData)).toBe('0x')
    await expect(
      clients.publicClient.simulateContract({
        address: usdt,
        abi: erc20Abi,
        functionName: 'transfer',
        args: [bob.address, 1n],
        account: owner,
      }),
    ).rejects.toThrow(/returned no data/)
    const receipt = await confirm(transfer(owner, bob.address, usd6(25n)))
    const [event] = parseEventLogs({ abi: tetherUsdCloneAbi, logs: receipt.logs, eventName: 'Transfer' })
    expect(event?.args).toEqual({ from: owner.address, to: bob.address, value: 25_000_000n })
    expect(await balance(bob.address)).toBe(25_000_000n)
    expect(await balance(owner.address)).toBe(975_000_000n)
    await expectRevert(transfer(bob, alice.address, usd6(25n) + 1n), 'InsufficientBalance')
  })

  it('approve from non-zero to non-zero reverts; a max allowance is never spent down', async () => {
    const approve = (spender: Address, amount: bigint) =>
      clients.wallet.writeContract({
        address: usdt,
        abi: tetherUsdCloneAbi,
        functionName: 'approve',
        args: [spender, amount],
        account: alice,
      })
    const allowance = () =>
      clients.publicClient.readContract({
        address: usdt,
        abi: tetherUsdCloneAbi,
        functionName: 'allowance',
        args: [alice.address, bob.address],
      })
    const transferFrom = (amount: bigint) =>
      clients.wallet.writeContract({
        address: usdt,
        abi: tetherUsdCloneAbi,
        functionName: 'transferFrom',
        args: [alice.address, bob.address, amount],
        account: bob,
      })
    await confirm(approve(bob.address, usd6(5n)))
    await expectRevert(approve(bob.address, usd6(7n)), 'NonZeroAllowance')
    await confirm(transferFrom(usd6(2n)))
    expect(await allowance()).toBe(usd6(3n))
    await expectRevert(transferFrom(usd6(3n) + 1n), 'InsufficientAllowance')
    await confirm(approve(bob.address, 0n))
    await confirm(approve(bob.address, maxUint256))
    await confirm(transferFrom(usd6(1n)))
    expect(await allowance()).toBe(maxUint256)
    await confirm(approve(bob.address, 0n))
  })

  it('pause blocks transfer and transferFrom (also when mined), unpause restores them', async () => {
    await confirm(ownerCall('pause'))
    await expectRevert(transfer(owner, bob.address, 1n), 'TransfersPaused')
    // Mined anyway (fixed gas skips estimation): the transaction itself reverts on chain.
    const hash = await clients.wallet.writeContract({
      address: usdt,
      abi: tetherUsdCloneAbi,
      functionName: 'transfer',
      args: [bob.address, 1n],
      gas: 100_000n,
    })
    const receipt = await clients.publicClient.waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('reverted')
    await expectRevert(
      clients.wallet.writeContract({
        address: usdt,
        abi: tetherUsdCloneAbi,
        functionName: 'pause',
        account: alice,
      }),
      'NotOwner',
    )
    await confirm(ownerCall('unpause'))
    const bobBefore = await balance(bob.address)
    await confirm(transfer(owner, bob.address, 1n))
    expect(await balance(bob.address)).toBe(bobBefore + 1n)
  })

  it('a blacklisted account cannot send (transfer or transferFrom) but can still receive', async () => {
    await expectRevert(
      clients.wallet.writeContract({
        address: usdt,
        abi: tetherUsdCloneAbi,
        functionName: 'addBlackList',
        args: [bob.address],
        account: alice,
      }),
      'NotOwner',
    )
    await confirm(ownerCall('addBlackList', [alice.address]))
    const isBlackListed = (account: Address) =>
      clients.publicClient.readContract({
        address: usdt,
        abi: tetherUsdCloneAbi,
        functionName: 'isBlackListed',
        args: [account],
      })
    expect(await isBlackListed(alice.address)).toBe(true)
    expect(await isBlackListed(bob.address)).toBe(false)
    await expectRevert(transfer(alice, bob.address, 1n), 'SenderBlackListed')
    // transferFrom checks `from`, even with an allowance and a clean spender.
    await confirm(
      clients.wallet.writeContract({
        address: usdt,
        abi: tetherUsdCloneAbi,
        functionName: 'approve',
        args: [bob.address, usd6(1n)],
        account: alice,
      }),
    )
    await expectRevert(
      clients.wallet.writeContract({
        address: usdt,
        abi: tetherUsdCloneAbi,
        functionName: 'transferFrom',
        args: [alice.address, bob.address, 1n],
        account: bob,
      }),
      'SenderBlackListed',
    )
    const aliceBefore = await balance(alice.address)
    await confirm(transfer(bob, alice.address, 10n))
    expect(await balance(alice.address)).toBe(aliceBefore + 10n)
    await confirm(ownerCall('removeBlackList', [alice.address]))
    expect(await isBlackListed(alice.address)).toBe(false)
    await confirm(transfer(alice, bob.address, 10n))
    expect(await balance(alice.address)).toBe(aliceBefore)
  })
})

describe('UsdCoinClone (USDC)', () => {
  let usdc: Address
  const balance = (account: Address) =>
    clients.publicClient.readContract({
      address: usdc,
      abi: usdCoinCloneAbi,
      functionName: 'balanceOf',
      args: [account],
    })
  const transfer = (from: typeof owner, to: Address, amount: bigint) =>
    clients.wallet.writeContract({
      address: usdc,
      abi: usdCoinCloneAbi,
      functionName: 'transfer',
      args: [to, amount],
      account: from,
    })
  const setBlacklisted = (account: Address, blacklisted: boolean) =>
    confirm(
      clients.wallet.writeContract({
        address: usdc,
        abi: usdCoinCloneAbi,
        functionName: blacklisted ? 'blacklist' : 'unBlacklist',
        args: [account],
      }),
    )

  beforeAll(async () => {
    usdc = await deploy(usdCoinCloneAbi, usdCoinCloneBytecode)
  })

  it('has USDC metadata, owner-only mint, exact 6-decimal balances and returns true', async () => {
    const read = <F extends 'name' | 'symbol' | 'decimals'>(functionName: F) =>
      clients.publicClient.readContract({ address: usdc, abi: usdCoinCloneAbi, functionName })
    expect(await read('name')).toBe('USD Coin')
    expect(await read('symbol')).toBe('USDC')
    expect(await read('decimals')).toBe(6)
    await confirm(
      clients.wallet.writeContract({
        address: usdc,
        abi: usdCoinCloneAbi,
        functionName: 'mint',
        args: [alice.address, 500_000_001n],
      }),
    )
    expect(await balance(alice.address)).toBe(500_000_001n)
    await expectRevert(
      clients.wallet.writeContract({
        address: usdc,
        abi: usdCoinCloneAbi,
        functionName: 'mint',
        args: [alice.address, 1n],
        account: alice,
      }),
      'OwnableUnauthorizedAccount',
    )
    const data = encodeFunctionData({
      abi: usdCoinCloneAbi,
      functionName: 'transfer',
      args: [bob.address, 1n],
    })
    expect(await rawCall(alice.address, usdc, data)).toBe(toHex(1n, { size: 32 }))
    await confirm(transfer(alice, bob.address, 1n))
    expect(await balance(alice.address)).toBe(500_000_000n)
    expect(await balance(bob.address)).toBe(1n)
  })

  it('a blacklisted account can neither send nor receive, approve nor spend', async () => {
    await setBlacklisted(bob.address, true)
    expect(
      await clients.publicClient.readContract({
        address: usdc,
        abi: usdCoinCloneAbi,
        functionName: 'isBlacklisted',
        args: [bob.address],
      }),
    ).toBe(true)
    // The flag shares the balance slot (as in FiatToken v2.2) but never shows in balanceOf.
    expect(await balance(bob.address)).toBe(1n)
    await expectRevert(transfer(bob, alice.address, 1n), 'AccountBlacklisted')
    await expectRevert(transfer(alice, bob.address, 1n), 'AccountBlacklisted')
    await expectRevert(
      clients.wallet.writeContract({
        address: usdc,
        abi: usdCoinCloneAbi,
        functionName: 'mint',
        args: [bob.address, 1n],
      }),
      'AccountBlacklisted',
    )
    await expectRevert(
      clients.wallet.writeContract({
        address: usdc,
        abi: usdCoinCloneAbi,
        functionName: 'approve',
        args: [bob.address, 1n],
        account: alice,
      }),
      'AccountBlacklisted',
    )
    await expectRevert(
      clients.wallet.writeContract({
        address: usdc,
        abi: usdCoinCloneAbi,
        functionName: 'blacklist',
        args: [alice.address],
        account: alice,
      }),
      'OwnableUnauthorizedAccount',
    )
    await setBlacklisted(bob.address, false)
    await confirm(transfer(alice, bob.address, 2n))
    await confirm(transfer(bob, alice.address, 3n))
    expect(await balance(bob.address)).toBe(0n)
    expect(await balance(alice.address)).toBe(500_000_001n)
    expect(
      await clients.publicClient.readContract({
        address: usdc,
        abi: usdCoinCloneAbi,
        functionName: 'totalSupply',
      }),
    ).toBe(500_000_001n)
  })
})

describe('BscUsdClone (BSC-USD)', () => {
  it('has 18 decimals and exact balances like 100 * 10^18', async () => {
    const bscUsd = await deploy(bscUsdCloneAbi, bscUsdCloneBytecode)
    const read = <F extends 'name' | 'symbol' | 'decimals' | 'totalSupply' | 'getOwner'>(functionName: F) =>
      clients.publicClient.readContract({ address: bscUsd, abi: bscUsdCloneAbi, functionName })
    const balance = (account: Address) =>
      clients.publicClient.readContract({
        address: bscUsd,
        abi: bscUsdCloneAbi,
        functionName: 'balanceOf',
        args: [account],
      })
    expect(await read('name')).toBe('Binance-Peg BSC-USD')
    expect(await read('symbol')).toBe('BSC-USD')
    expect(await read('decimals')).toBe(18)
    expect(await read('getOwner')).toBe(owner.address)
    await confirm(
      clients.wallet.writeContract({
        address: bscUsd,
        abi: bscUsdCloneAbi,
        functionName: 'mint',
        args: [alice.address, usd18(100n)],
      }),
    )
    expect(await balance(alice.address)).toBe(100_000_000_000_000_000_000n)
    await confirm(
      clients.wallet.writeContract({
        address: bscUsd,
        abi: bscUsdCloneAbi,
        functionName: 'transfer',
        args: [bob.address, usd18(33n) + 1n],
        account: alice,
      }),
    )
    expect(await balance(alice.address)).toBe(66_999_999_999_999_999_999n)
    expect(await balance(bob.address)).toBe(33_000_000_000_000_000_001n)
    expect(await read('totalSupply')).toBe(usd18(100n))
    await expectRevert(
      clients.wallet.writeContract({
        address: bscUsd,
        abi: bscUsdCloneAbi,
        functionName: 'mint',
        args: [bob.address, 1n],
        account: bob,
      }),
      'OwnableUnauthorizedAccount',
    )
  })
})

/** Deterministic fresh addresses (nobody holds their keys; they only receive). */
function recipientsFor(seed: string, count: number): Address[] {
  return Array.from({ length: count }, (_, i) => getAddress(slice(keccak256(toHex(`${seed}:${i}`)), 12)))
}

/** Distinct amounts so a payment to the wrong index shows up: (i + 1) units plus i base units. */
function amountsFor(count: number): bigint[] {
  return Array.from({ length: count }, (_, i) => usd6(BigInt(i + 1)) + BigInt(i))
}

const sum = (amounts: bigint[]): bigint => amounts.reduce((total, amount) => total + amount, 0n)

type TokenCase = {
  label: string
  abi: typeof tetherUsdCloneAbi | typeof usdCoinCloneAbi
  bytecode: Hex
}

const tokenCases: TokenCase[] = [
  { label: 'USDT clone (no return value)', abi: tetherUsdCloneAbi, bytecode: tetherUsdCloneBytecode },
  { label: 'USDC clone (returns bool)', abi: usdCoinCloneAbi, bytecode: usdCoinCloneBytecode },
]

describe.each(tokenCases)('BatchTransfer with $label', ({ label, abi, bytecode }) => {
  const batchSize = 200
  let token: Address
  let batch: Address
  const balance = (account: Address) =>
    clients.publicClient.readContract({
      address: token,
      abi: erc20Abi,
      functionName: 'balanceOf',
      args: [account],
    })
  const balances = (accounts: Address[]) => Promise.all(accounts.map((account) => balance(account)))
  const pay = (
    method: 'batchTransfer' | 'batchTransferPooled',
    recipients: Address[],
    amounts: bigint[],
    account = owner,
  ) =>
    clients.wallet.writeContract({
      address: batch,
      // The token's errors too, so a revert bubbled up from the token is decoded by name.
      abi: [...batchTransferAbi, ...abi],
      functionName: method,
      args: [token, recipients, amounts],
      account,
    })

  async function payAndMeasure(
    method: 'batchTransfer' | 'batchTransferPooled',
    recipients: Address[],
    amounts: bigint[],
    holders: 'fresh' | 'existing',
  ) {
    const ownerBefore = await balance(owner.address)
    const before = await balances(recipients)
    expect(before.every((value) => (holders === 'fresh' ? value === 0n : value > 0n))).toBe(true)
    const receipt = await confirm(pay(method, recipients, amounts))
    const after = await balances(recipients)
    expect(after).toEqual(before.map((value, i) => value + (amounts[i] ?? 0n)))
    expect(await balance(owner.address)).toBe(ownerBefore - sum(amounts))
    expect(await balance(batch)).toBe(0n)
    // Only the token's Transfer events: one per recipient (plus the pull into the contract when pooled).
    const transfers = parseEventLogs({ abi: erc20Abi, logs: receipt.logs, eventName: 'Transfer' })
    expect(receipt.logs.length).toBe(transfers.length)
    expect(transfers.length).toBe(recipients.length + (method === 'batchTransferPooled' ? 1 : 0))
    expect(transfers.every((event) => event.address === token.toLowerCase())).toBe(true)
    const perItem = receipt.gasUsed / BigInt(recipients.length)
    gasReport.push({ token: label, method, recipients: holders, gasUsed: receipt.gasUsed, perItem })
    return perItem
  }

  beforeAll(async () => {
    token = await deploy(abi, bytecode)
    batch = await deploy(batchTransferAbi, batchTransferBytecode)
    await confirm(
      clients.wallet.writeContract({
        address: token,
        abi,
        functionName: 'mint',
        args: [owner.address, usd6(10n ** 9n)],
      }),
    )
    // A hot wallet approves the batch contract once, for the maximum.
    await confirm(
      clients.wallet.writeContract({
        address: token,
        abi,
        functionName: 'approve',
        args: [batch, maxUint256],
      }),
    )
  })

  it(`batchTransfer pays ${batchSize} fresh, then ${batchSize} existing holders in one transaction each`, async () => {
    const recipients = recipientsFor(`${label}:pull`, batchSize)
    const amounts = amountsFor(batchSize)
    const fresh = await payAndMeasure('batchTransfer', recipients, amounts, 'fresh')
    const existing = await payAndMeasure('batchTransfer', recipients, amounts, 'existing')
    expect(fresh).toBeLessThanOrEqual(29_000n)
    expect(existing).toBeLessThanOrEqual(12_000n)
  })

  it(`batchTransferPooled pays ${batchSize} fresh, then ${batchSize} existing holders`, async () => {
    const recipients = recipientsFor(`${label}:pooled`, batchSize)
    const amounts = amountsFor(batchSize)
    const fresh = await payAndMeasure('batchTransferPooled', recipients, amounts, 'fresh')
    const existing = await payAndMeasure('batchTransferPooled', recipients, amounts, 'existing')
    expect(fresh).toBeLessThanOrEqual(29_000n)
    expect(existing).toBeLessThanOrEqual(12_000n)
  })

  it('reverts on a length mismatch', async () => {
    const recipients = recipientsFor(`${label}:mismatch`, 3)
    await expectRevert(pay('batchTransfer', recipients, amountsFor(2)), 'LengthMismatch')
    await expectRevert(pay('batchTransferPooled', recipients, amountsFor(4)), 'LengthMismatch')
  })

  it('is all-or-nothing: one failing item (more than the balance) reverts the whole batch', async () => {
    const recipients = recipientsFor(`${label}:atomic`, 5)
    const amounts = amountsFor(5)
    const ownerBalance = await balance(owner.address)
    const tooMuch = [...amounts.slice(0, 4), ownerBalance]
    for (const method of ['batchTransfer', 'batchTransferPooled'] as const) {
      const error = await pay(method, recipients, tooMuch).then(
        () => undefined,
        (caught: unknown) => caught,
      )
      expect(error).toBeInstanceOf(BaseError)
    }
    expect(await balances(recipients)).toEqual([0n, 0n, 0n, 0n, 0n])
    expect(await balance(owner.address)).toBe(ownerBalance)
  })

  it('pulls only from the caller: without an allowance the batch reverts', async () => {
    const recipients = recipientsFor(`${label}:no-allowance`, 2)
    await confirm(
      clients.wallet.writeContract({
        address: token,
        abi,
        functionName: 'mint',
        args: [alice.address, usd6(10n)],
      }),
    )
    const error = await pay('batchTransfer', recipients, amountsFor(2), alice).then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(error).toBeInstanceOf(BaseError)
    expect(await balance(alice.address)).toBe(usd6(10n))
  })
})
