import { randomBytes } from 'node:crypto'
import { cpus, loadavg } from 'node:os'
import { batchTransferAbi, batchTransferBytecode } from '@sluice/contracts/artifacts/BatchTransfer'
import { tetherUsdCloneAbi, tetherUsdCloneBytecode } from '@sluice/contracts/artifacts/TetherUsdClone'
import { usdCoinCloneAbi, usdCoinCloneBytecode } from '@sluice/contracts/artifacts/UsdCoinClone'
import {
  type Abi,
  type Address,
  encodeFunctionData,
  getAddress as getChecksum,
  type Hex,
  maxUint256,
} from 'viem'
import type { NetworkConfig } from '../server/src/config/config.types.ts'
import { readTestDatabaseUrl } from '../server/src/config/env.ts'
import { withTransaction } from '../server/src/db/tx.ts'
import { startAnvil } from '../server/src/devnet/anvil.ts'
import { createPayoutRunner } from '../server/src/jobs/send-payouts.ts'
import { createLogger } from '../server/src/lib/logger.ts'
import { createRawMasterKeyProvider } from '../server/src/modules/keys/key.master.ts'
import { initKeys } from '../server/src/modules/keys/key.service.ts'
import {
  createTransfer,
  getOrCreateAccount,
  getOrCreateSystemAccount,
} from '../server/src/modules/ledger/ledger.service.ts'
import {
  approvePolicy,
  createPayoutBatch,
  enrolApprover,
  proposePolicy,
} from '../server/src/modules/payouts/payout.service.ts'
import { totpAt } from '../server/src/modules/payouts/payout.totp.ts'
import {
  getGatewayHotWalletAddress,
  recordGasStationFunding,
} from '../server/src/modules/sweeps/sweep.service.ts'
import { randomAddress, scratchDatabase } from './deposits/setup.ts'
import { appendResults, type BenchFigure } from './results.ts'

// `npm run bench -- payouts` (docs/adr/0015-batch-and-canary-payouts.md). Two parts, each with its baseline
// measured in the same run:
// (1) gas per item of BatchTransfer.batchTransferPooled with 200 recipients, new and existing holders, for the
//     USDT and USDC clones, beside a single `transfer` to a new / existing holder (receipt gasUsed, 21,000 base
//     and calldata included, as a user pays it);
// (2) payouts per minute from one hot wallet through the whole pipeline — createPayoutBatch (validation,
//     reservation, screening, policy) → send-payouts ticks (pre-checks, sign, broadcast) → finalized (3
//     confirmations) on a 1 s-block anvil — with BatchTransfer, and single transfers as the baseline.
const serverUrl = readTestDatabaseUrl() ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const deployer: Address = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266' // anvil's unlocked account 0
const batchItems = 200
const pipelinePayouts = 2_000
const singlePayouts = 300
const finalityDepth = 3

async function rpc<T>(url: string, method: string, params: unknown[]): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  const body = (await response.json()) as { result: T; error?: { message: string } }
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message}`)
  return body.result
}

type Receipt = { status: string; gasUsed: Hex; contractAddress: Address | null }

async function send(url: string, transaction: { to?: Address; data: Hex }): Promise<Receipt> {
  const hash = await rpc<Hex>(url, 'eth_sendTransaction', [{ from: deployer, ...transaction }])
  for (;;) {
    const receipt = await rpc<Receipt | null>(url, 'eth_getTransactionReceipt', [hash])
    if (receipt !== null) {
      if (receipt.status !== '0x1') throw new Error(`transaction ${hash} reverted`)
      return receipt
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function deploy(url: string, bytecode: Hex): Promise<Address> {
  const receipt = await send(url, { data: bytecode })
  if (receipt.contractAddress === null) throw new Error('deploy failed')
  return receipt.contractAddress
}

const call = (abi: Abi, functionName: string, args: readonly unknown[]) =>
  encodeFunctionData({ abi, functionName, args } as Parameters<typeof encodeFunctionData>[0])

/** Gas of single transfers and of 200-item batches, to new holders and then to the same (existing) holders. */
async function measureGas(url: string, token: { name: string; abi: Abi; bytecode: Hex }, contract: Address) {
  const address = await deploy(url, token.bytecode)
  await send(url, { to: address, data: call(token.abi, 'mint', [deployer, 10n ** 15n]) })
  await send(url, { to: address, data: call(token.abi, 'approve', [contract, maxUint256]) })
  const single = randomAddress()
  const transfer = () => send(url, { to: address, data: call(token.abi, 'transfer', [single, 1_000_000n]) })
  const singleNew = BigInt((await transfer()).gasUsed)
  const singleExisting = BigInt((await transfer()).gasUsed)
  const recipients = Array.from({ length: batchItems }, () => randomAddress())
  const batch = () =>
    send(url, {
      to: contract,
      data: call(batchTransferAbi, 'batchTransferPooled', [
        address,
        recipients,
        recipients.map(() => 1_000_000n),
      ]),
    })
  const batchNew = BigInt((await batch()).gasUsed) / BigInt(batchItems)
  const batchExisting = BigInt((await batch()).gasUsed) / BigInt(batchItems)
  return { name: token.name, singleNew, singleExisting, batchNew, batchExisting }
}

const percentOf = (part: bigint, whole: bigint) =>
  `${(part * 1000n) / whole / 10n}.${((part * 1000n) / whole) % 10n} %`

async function gasFigures(): Promise<BenchFigure[]> {
  const anvil = await startAnvil({ chainId: 31_337 })
  try {
    const contract = await deploy(anvil.rpcUrl, batchTransferBytecode)
    const figures: BenchFigure[] = []
    for (const token of [
      { name: 'USDT clone', abi: tetherUsdCloneAbi as Abi, bytecode: tetherUsdCloneBytecode },
      { name: 'USDC clone', abi: usdCoinCloneAbi as Abi, bytecode: usdCoinCloneBytecode },
    ]) {
      const gas = await measureGas(anvil.rpcUrl, token, contract)
      figures.push(
        {
          name: `${gas.name}: gas per item, batch of ${batchItems}, existing holders (single transfer baseline)`,
          value: `${gas.batchExisting} (${gas.singleExisting}; ${percentOf(gas.batchExisting, gas.singleExisting)} of it)`,
          goal: '≤ 12,000',
          met: gas.batchExisting <= 12_000n,
        },
        {
          name: `${gas.name}: gas per item, batch of ${batchItems}, new holders (single transfer baseline)`,
          value: `${gas.batchNew} (${gas.singleNew}; ${percentOf(gas.batchNew, gas.singleNew)} of it)`,
          goal: '≤ 29,000',
          met: gas.batchNew <= 29_000n,
        },
      )
    }
    return figures
  } finally {
    await anvil.stop()
  }
}

type PipelineResult = {
  payouts: number
  elapsedMs: number
  /** Request (validation, reservation, screening, policy) of every payout done. */
  requestedMs: number
  /** No payout queued any more: all signed and broadcast. */
  signedMs: number
  ticks: number
  nonceGapFree: boolean
  transactions: number
}

/** Requests `count` payouts and ticks the transaction manager until every one is finalized. */
async function pipeline(count: number, batches: boolean, chainId: number): Promise<PipelineResult> {
  const anvil = await startAnvil({ chainId, blockTimeSeconds: 1 })
  const database = await scratchDatabase(serverUrl, `sluice_bench_payouts_${batches ? 'batch' : 'single'}`)
  const { pool, merchantId } = database
  try {
    const usdt = await deploy(anvil.rpcUrl, tetherUsdCloneBytecode)
    const contract = await deploy(anvil.rpcUrl, batchTransferBytecode)
    const provider = createRawMasterKeyProvider(randomBytes(32))
    await initKeys(pool, provider)
    const hotWallet = await getGatewayHotWalletAddress(pool, provider)
    const gas = 1_000n * 10n ** 18n
    await rpc(anvil.rpcUrl, 'anvil_setBalance', [hotWallet, `0x${gas.toString(16)}`])
    await recordGasStationFunding(pool, 'bench', gas, 'bench-initial')
    const funding = 10n ** 14n
    await send(anvil.rpcUrl, { to: usdt, data: call(tetherUsdCloneAbi as Abi, 'mint', [hotWallet, funding]) })
    const assetId = 'USDT@bench'
    await createTransfer(pool, {
      kind: 'single',
      id: 'bench-funding',
      debitAccountId: (await getOrCreateSystemAccount(pool, 'hot-wallet', assetId)).id,
      creditAccountId: (
        await getOrCreateAccount(pool, {
          ownerType: 'merchant',
          ownerId: merchantId,
          purpose: 'available',
          assetId,
          normalSide: 'credit',
          flags: { debitsMustNotExceedCredits: true },
        })
      ).id,
      assetId,
      amount: funding,
      code: 'bench-funding',
    })
    const now = new Date()
    const proposer = await enrolApprover(pool, { merchantId, name: 'Proposer', roles: ['admin'] })
    const checker = await enrolApprover(pool, { merchantId, name: 'Checker', roles: ['approver'] })
    const version = await proposePolicy(pool, {
      merchantId,
      proposedBy: proposer.approver.id,
      policy: {
        rules: [{ id: 'small', match: { amount: { max: '100' } }, action: { kind: 'allow' } }],
        default_action: { kind: 'require_approval', approvals: 1, role: 'approver' },
      },
    })
    const code = totpAt(checker.totpSecret, BigInt(now.getTime()) / 1000n)
    await approvePolicy(pool, { merchantId, version, approverId: checker.approver.id, totpCode: code }, now)
    const network: NetworkConfig = {
      name: 'bench',
      kind: 'evm',
      chainId,
      rpcUrls: [anvil.rpcUrl],
      blockTimeMs: 1_000,
      finality: { kind: 'confirmations', confirmations: finalityDepth },
      tokens: [{ symbol: 'USDT', contractAddress: usdt, decimals: 6 }],
      ...(batches ? { batchTransferAddress: contract } : {}),
    }
    const run = createPayoutRunner({
      pool,
      logger: createLogger('silent'),
      networks: [network],
      masterKeyProvider: provider,
    })
    const request = async (items: number) => {
      for (let first = 0; first < items; first += 1_000)
        await withTransaction(pool, (client) =>
          createPayoutBatch(
            client,
            {
              merchantId,
              apiKeyId: 'key_bench',
              items: Array.from({ length: Math.min(1_000, items - first) }, (_, index) => ({
                network: 'bench',
                asset: 'USDT',
                destination: randomChecksummed(),
                amount: `${1 + ((first + index) % 50)}`,
              })),
            },
            { networks: [network], now: () => new Date() },
          ),
        )
    }
    const finalized = async () =>
      (await pool.query<{ n: number }>("select count(*)::int as n from payouts where status = 'finalized'"))
        .rows[0]?.n ?? 0
    let signedAt = 0
    const drain = async (target: number, deadlineMs: number) => {
      let ticks = 0
      signedAt = 0
      while ((await finalized()) < target) {
        if (signedAt === 0) {
          const queued = await pool.query("select 1 from payouts where status = 'queued' limit 1")
          if (queued.rowCount === 0) signedAt = performance.now()
        }
        if (performance.now() > deadlineMs)
          throw new Error(`pipeline: ${await finalized()} of ${target} finalized`)
        await run('bench')
        ticks += 1
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      return ticks
    }
    // Warm-up (not timed): the one-time approve of BatchTransfer and the first signer/key derivation.
    await request(2)
    await drain(2, performance.now() + 60_000)
    const started = performance.now()
    await request(count)
    const requestedMs = performance.now() - started
    const ticks = await drain(count + 2, started + 600_000)
    const elapsedMs = performance.now() - started
    const signedMs = (signedAt === 0 ? performance.now() : signedAt) - started
    const onChain = await rpc<Hex>(anvil.rpcUrl, 'eth_getTransactionCount', [hotWallet, 'latest'])
    const stored = await pool.query<{ next_nonce: string }>('select next_nonce from hot_wallet_nonces')
    const nonces = await pool.query<{ nonce: string }>(
      `select nonce::text from payout_transactions union all select nonce::text from payout_batch_transactions
       order by 1`,
    )
    const distinct = [...new Set(nonces.rows.map((row) => BigInt(row.nonce)))].sort((a, b) =>
      a < b ? -1 : 1,
    )
    const nonceGapFree =
      BigInt(onChain) === BigInt(stored.rows[0]?.next_nonce ?? '-1') &&
      distinct.every((nonce, index) => nonce === BigInt(index)) &&
      BigInt(distinct.length) === BigInt(onChain)
    return {
      payouts: count,
      elapsedMs,
      requestedMs,
      signedMs,
      ticks,
      nonceGapFree,
      transactions: distinct.length,
    }
  } finally {
    await pool.end()
    await anvil.stop()
  }
}

function randomChecksummed(): string {
  // EIP-55 form: the API refuses all-lower-case destinations.
  return getChecksum(randomAddress())
}

const perMinute = (result: PipelineResult) => (result.payouts * 60_000) / result.elapsedMs

const phases = (result: PipelineResult) =>
  `requests done ${(result.requestedMs / 1000).toFixed(1)} s, all signed ${(result.signedMs / 1000).toFixed(1)} s, all finalized ${(result.elapsedMs / 1000).toFixed(1)} s`

async function main(): Promise<void> {
  const loadBefore = loadavg()[0] ?? 0
  const gas = await gasFigures()
  const batched = await pipeline(pipelinePayouts, true, 31_401)
  const single = await pipeline(singlePayouts, false, 31_402)
  const figures: BenchFigure[] = [
    ...gas,
    {
      name: `payouts/min, one hot wallet, policy → sign → broadcast → finalized, 1 s blocks, BatchTransfer (${batched.payouts} payouts)`,
      value: `${perMinute(batched).toFixed(0)} (${(batched.elapsedMs / 1000).toFixed(1)} s, ${batched.ticks} ticks, ${batched.transactions} transactions in all)`,
      goal: '≥ 600',
      met: perMinute(batched) >= 600,
    },
    {
      name: 'no nonce gap (hot_wallet_nonces = chain count = distinct signed nonces 0…n−1)',
      value: String(batched.nonceGapFree && single.nonceGapFree),
      goal: 'true',
      met: batched.nonceGapFree && single.nonceGapFree,
    },
    {
      name: `baseline: payouts/min with single transfers only (${single.payouts} payouts)`,
      value: `${perMinute(single).toFixed(0)} (${(single.elapsedMs / 1000).toFixed(1)} s, ${single.ticks} ticks)`,
    },
  ]
  appendResults('payouts', figures, [
    `phases with BatchTransfer: ${phases(batched)}; singles: ${phases(single)}`,
    `load average (1 min) before / after: ${loadBefore.toFixed(2)} / ${(loadavg()[0] ?? 0).toFixed(2)} on ${cpus().length} cores shared with other work`,
    `gas: receipt gasUsed ÷ ${batchItems} for batchTransferPooled (21,000 base and calldata included); singles are one ERC-20 transfer each`,
    `pipeline: finality = ${finalityDepth} confirmations; the one-time approve of BatchTransfer and a 2-payout warm-up are not timed; requests are createPayoutBatch calls of ≤ 1,000 items (one DB transaction each, as POST /v1/payouts/batch)`,
  ])
}

await main()
