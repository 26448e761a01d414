import { loadConfig } from '../config/env.ts'
import { readDevnetNetworks } from '../devnet/devnet.ts'
import { balances, fund, pay } from '../devnet/devnet-actions.ts'

const usage = `usage:
  npm run devnet -- fund <address> <amount> <SYMBOL@network>   e.g. fund 0xabc… 100 USDT@bsc
  npm run devnet -- balance <address>
  npm run devnet -- pay <eip-681 uri>`

async function main(args: readonly string[]): Promise<number> {
  const config = loadConfig()
  const networks = config.networks.length > 0 ? config.networks : readDevnetNetworks(config.dataDir)
  if (networks === undefined) {
    process.stderr.write('no devnet found: start the gateway with `npm start` first\n')
    return 1
  }
  const [command, ...rest] = args
  if (command === 'fund' && rest.length === 3) {
    const [address = '', amount = '', asset = ''] = rest
    const hash = await fund(networks, address, amount, asset)
    process.stdout.write(`funded ${address} with ${amount} ${asset} (tx ${hash})\n`)
  } else if (command === 'balance' && rest.length === 1) {
    for (const line of await balances(networks, rest[0] ?? ''))
      process.stdout.write(`${line.asset.padEnd(22)} ${line.amount}\n`)
  } else if (command === 'pay' && rest.length === 1) {
    const paid = await pay(networks, rest[0] ?? '')
    process.stdout.write(`paid from ${paid.from} on ${paid.network} (tx ${paid.hash})\n`)
  } else {
    process.stderr.write(`${usage}\n`)
    return 2
  }
  return 0
}

try {
  process.exitCode = await main(process.argv.slice(2))
} catch (error) {
  // Expected failures (unknown asset, bad amount, devnet down) print one line, not a stack.
  process.stderr.write(`devnet: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
}
