// Runs the *.test.ts files under the given folders (default: test/) with Node's test
// runner and tsx. A script rather than a glob in package.json, because neither Node 20
// nor Windows' shell expands "test/**/*.test.ts".
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

function findTests (path) {
  if (statSync(path).isFile()) return path.endsWith('.test.ts') ? [path] : []
  return readdirSync(path).sort().flatMap((name) => findTests(join(path, name)))
}

const args = process.argv.slice(2)
const flags = args.filter((arg) => arg.startsWith('--'))
const roots = args.filter((arg) => !arg.startsWith('--'))
const files = (roots.length > 0 ? roots : ['test']).flatMap(findTests)
if (files.length === 0) {
  console.error('run-tests: no *.test.ts file found under', roots.join(', ') || 'test')
  process.exit(1)
}

const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...flags, ...files], {
  stdio: 'inherit'
})
process.exit(result.status ?? 1)
