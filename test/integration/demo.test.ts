import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { PassThrough } from 'node:stream'
import { describe, it } from 'node:test'
import { runDemo } from '../../src/demo/run.js'
import { SAMPLE_BRANDS, type SampleBrand } from '../../src/demo/sample-data.js'
import { ConfigError } from '../../src/errors.js'
import { startCli } from '../cli-process.js'
import { freePort } from '../faults.js'

function capture (): { out: PassThrough, text: () => string } {
  const out = new PassThrough()
  let text = ''
  out.on('data', (chunk: Buffer) => { text += chunk.toString('utf8') })
  return { out, text: () => text }
}

async function waitFor (check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not ready within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

// The demo needs nothing installed: it runs on every machine.
describe('metrics-cache demo', () => {
  it('should cache every sample brand through a signed trigger and serve the status page',
    async () => {
      const port = await freePort()
      const { out, text } = capture()
      let stop = (): void => {}
      const stopSignal = new Promise<void>((resolve) => { stop = resolve })
      const running = runDemo({ once: false, env: { PORT: String(port), LOG_LEVEL: 'silent' },
        out, stopSignal })

      try {
        await waitFor(() => text().includes('Serving until Ctrl-C.'), 60_000)
        for (const brand of SAMPLE_BRANDS) {
          assert.match(text(), new RegExp(`^${brand.id}\\s+cached\\s+\\d+ ms\\s+\\S`, 'm'))
        }
        assert.match(text(), /^globex\s+cached\s+\d+ ms\s+7 custom rows$/m)
        assert.match(text(), new RegExp(`Status page: +http://127.0.0.1:${port}/\n`))
        assert.match(text(), new RegExp(`Read API: +http://127.0.0.1:${port}/api/metrics\n`))

        const page = await (await fetch(`http://127.0.0.1:${port}/`)).text()
        assert.equal(page.match(/class="card fresh"/g)?.length, SAMPLE_BRANDS.length)
      } finally {
        stop()
      }

      assert.equal(await running, 0)
      await assert.rejects(fetch(`http://127.0.0.1:${port}/health`), 'the server is closed')
    })

  it('should exit 1 after one pass with --once when a brand failed, as fetch does',
    async () => {
      const good = SAMPLE_BRANDS[0] as SampleBrand
      const broken: SampleBrand = { ...good, id: 'broken', metricsQuery: 'SELECT * FROM nowhere' }
      const { out, text } = capture()

      const code = await runDemo({ once: true, env: { PORT: String(await freePort()),
        LOG_LEVEL: 'silent' }, out, brands: [good, broken] })

      assert.equal(code, 1)
      assert.match(text(), /^broken\s+FAILED\s+\d+ ms\s+The query failed: relation "nowhere"/m)
      assert.match(text(), /1 cached, 1 failed/)
    })

  it('should exit 0 from the command line with --once when every brand is cached',
    async () => {
      const { done } = await startCli(['demo', '--once'],
        { PORT: String(await freePort()), LOG_LEVEL: 'silent' }, 90_000)
      const { code, stdout, stderr } = await done

      assert.equal(code, 0, stderr)
      assert.match(stdout, /4 cached, 0 failed/)
      assert.match(stdout, /--once: stopped after the first refresh/)
      assert.doesNotMatch(stdout, /Status page:/, 'no address of a server that has stopped')
    })

  it('should say which port is taken, before starting any database', async () => {
    const blocker = createServer()
    const port = await freePort()
    await new Promise<void>((resolve) => { blocker.listen(port, '127.0.0.1', resolve) })
    const { out, text } = capture()

    try {
      await assert.rejects(runDemo({ once: true, env: { PORT: String(port) }, out }),
        (error: unknown) => error instanceof ConfigError && error.variable === 'PORT' &&
          error.message.includes(`Port ${port} is already in use`))
      assert.equal(text(), '')
    } finally {
      await new Promise((resolve) => { blocker.close(resolve) })
    }
  })
})
