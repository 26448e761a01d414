import { runProcess } from './process.ts'

// Production role: background jobs only (chain watchers, webhooks, payouts). Needs DATABASE_URL.
await runProcess('worker', (runtime) => {
  runtime.logger.info({ networks: runtime.networks.map((network) => network.name) }, 'worker started')
})
