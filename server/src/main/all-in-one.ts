import { formatBanner } from './banner.ts'
import { readDemoOperator } from './demo-operator.ts'
import { runProcess } from './process.ts'

// `npm start`: API and workers in one process, on the embedded database and devnet unless configured.
await runProcess('all-in-one', async (runtime) => {
  const demo = runtime.demo
  process.stdout.write(
    formatBanner({
      apiUrl: runtime.apiUrl ?? '',
      demoApiKey: demo?.apiKey,
      demoOperator: demo === undefined ? undefined : readDemoOperator(runtime.config.dataDir),
      networks: runtime.networks,
      devnet: runtime.devnetStarted,
    }),
  )
})
