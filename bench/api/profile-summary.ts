import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

// `node --import tsx bench/api/profile-summary.ts DIR [TOP]`: for each .cpuprofile written by
// `npm run bench -- api --profile`, the functions with the most self time and the most inclusive time
// (a frame counted once per sample however often it recurses), as percentages of the profile's samples.
type ProfileNode = {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
type Profile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const [directory, topText] = process.argv.slice(2)
if (directory === undefined) throw new Error('usage: profile-summary.ts DIR [TOP]')
const top = Number.parseInt(topText ?? '25', 10)
const root = join(import.meta.dirname, '..', '..')

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame
  const file = url.startsWith('file://') ? relative(root, new URL(url).pathname) : url
  return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`
}

for (const file of readdirSync(directory).filter((name) => name.endsWith('.cpuprofile'))) {
  const profile = JSON.parse(readFileSync(join(directory, file), 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  let total = 0
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0
    total += delta
    const node = byId.get(id)
    if (node === undefined) return
    self.set(frameName(node), (self.get(frameName(node)) ?? 0) + delta)
    const seen = new Set<string>()
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const frame = byId.get(current)
      if (frame === undefined) break
      const name = frameName(frame)
      if (seen.has(name)) continue
      seen.add(name)
      inclusive.set(name, (inclusive.get(name) ?? 0) + delta)
    }
  })
  const format = (entries: Map<string, number>) =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, time]) => `  ${((time / total) * 100).toFixed(1).padStart(5)} %  ${name}`)
      .join('\n')
  console.log(
    `\n== ${file}: ${(total / 1e6).toFixed(1)} s sampled\n-- self\n${format(self)}\n-- inclusive\n${format(inclusive)}`,
  )
}
