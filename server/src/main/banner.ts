import type { NetworkConfig } from '../config/config.types.ts'

/** What `npm start` prints once ready: where the API is, the demo key, the chains and how to pay. */
export function formatBanner(input: {
  apiUrl: string
  demoApiKey: string | undefined
  /** The devnet's dashboard user (demo-operator.ts). */
  demoOperator?: Readonly<{ login: string; password: string; totpSecret: string }> | undefined
  networks: readonly NetworkConfig[]
  devnet: boolean
}): string {
  const lines = [
    '',
    'Sluice is ready.',
    '',
    `  API           ${input.apiUrl}   (health: ${input.apiUrl}/readyz)`,
  ]
  if (input.demoApiKey !== undefined) lines.push(`  demo API key  ${input.demoApiKey}`)
  lines.push(`  dashboard     ${input.apiUrl}/dashboard`)
  if (input.demoOperator !== undefined) {
    const { login, password, totpSecret } = input.demoOperator
    lines.push(
      `    login ${login}   password ${password}`,
      `    TOTP secret ${totpSecret}   (an authenticator app, or: oathtool --totp -b ${totpSecret})`,
    )
  }
  lines.push('', input.devnet ? '  Devnet chains (anvil, local only):' : '  Networks:')
  for (const network of input.networks) {
    const tokens = network.tokens.map(
      (token) => `${token.symbol}@${network.name} ${token.contractAddress} (${token.decimals} dp)`,
    )
    const finality =
      network.finality.kind === 'tag' ? 'finalized tag' : `${network.finality.confirmations} confirmations`
    lines.push(
      `    ${network.name.padEnd(9)} chain ${network.chainId}  ${network.rpcUrls[0] ?? ''}  block ${network.blockTimeMs} ms, ${finality}`,
    )
    for (const token of tokens) lines.push(`      ${token}`)
  }
  if (input.devnet) {
    lines.push(
      '',
      '  Act as a customer (in another terminal):',
      '    npm run devnet -- fund 0xYourAddress 100 USDT@bsc     mint test tokens to an address',
      '    npm run devnet -- balance 0xYourAddress              balances on every devnet chain',
      "    npm run devnet -- pay 'ethereum:0xToken@1337056/transfer?address=0x…&uint256=…'   pay an EIP-681 URI",
    )
  }
  lines.push('')
  return lines.join('\n')
}
