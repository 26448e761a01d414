import type { NetworkConfig } from '../../server/src/config/config.types.ts'
import { createPool } from '../../server/src/db/pool.ts'
import { ChainWatcher } from '../../server/src/jobs/chain-watcher.ts'
import { createLogger } from '../../server/src/lib/logger.ts'

// Runs in its own process so its peak RSS is the watcher's alone: catches a cursor up to the head and
// prints {elapsedMs, ticks, maxRssMiB} as JSON.
const [databaseUrl, networkJson] = process.argv.slice(2)
const network = JSON.parse(networkJson ?? '{}') as NetworkConfig
const pool = createPool(databaseUrl ?? '', { sizeMax: 4 })
const watcher = new ChainWatcher({ pool, network, logger: createLogger('warn'), workerId: 'bench' })
const started = performance.now()
let ticks = 0
const tickMs: number[] = []
for (;;) {
  ticks += 1
  const tickStarted = performance.now()
  const result = await watcher.tick()
  tickMs.push(Math.round(performance.now() - tickStarted))
  if (result === 'caught-up') break
}
process.stderr.write(`tick durations (ms): ${tickMs.join(', ')}\n`)
const elapsedMs = performance.now() - started
await pool.end()
process.stdout.write(
  `${JSON.stringify({ elapsedMs, ticks, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`,
)
