import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { BrowserContext, Page } from 'playwright-core'
import { buildApp } from '../../src/app.js'
import { launchChromium, needsChromium } from '../browser.js'
import { HOSTILE_ERROR, seededContext } from '../status-fixtures.js'

const OUTPUT = 'test-output'

describe('the status page in a real browser', { skip: needsChromium() }, () => {
  let app: FastifyInstance
  let url: string
  let context: BrowserContext
  let closeBrowser: () => Promise<void>

  before(async () => {
    app = await buildApp(await seededContext())
    url = await app.listen({ port: 0, host: '127.0.0.1' })
    ;({ context, close: closeBrowser } = await launchChromium())
    await mkdir(OUTPUT, { recursive: true })
  })
  after(async () => {
    await closeBrowser?.()
    await app?.close()
  })

  async function open (width: number, height: number): Promise<Page> {
    const page = await context.newPage()
    await page.setViewportSize({ width, height })
    page.setDefaultTimeout(10_000)
    await page.goto(`${url}/`, { waitUntil: 'load' })
    return page
  }

  it('should show what a person needs for a fresh, a stale and a failing brand', async () => {
    const page = await open(1280, 800)
    try {
      const card = (brand: string): ReturnType<Page['locator']> =>
        page.locator(`section[data-brand="${brand}"]`)

      assert.equal(await page.title(), 'metrics-cache status')
      assert.match(await card('fresh-shop').innerText(), /fresh\s+cached 2 min ago/)
      assert.match(await card('fresh-shop').innerText(), /orders\s+3400/)
      assert.match(await card('stale-shop').innerText(), /stale\s+cached 3 h ago, past its TTL/)
      assert.match(await card('stale-shop').innerText(), /2026-12-01\s+1520.5/)
      const failing = await card('failing-shop').innerText()
      assert.match(failing, /failing\s+cached 1 d ago/)
      assert.ok(failing.includes(HOSTILE_ERROR), 'the error shows as the text it is')
      assert.equal(await page.evaluate('window.__xss'), undefined)
      await page.screenshot({ path: `${OUTPUT}/status-page.png`, fullPage: true })
    } finally {
      await page.close()
    }
  })

  it('should fit a phone screen without sideways scrolling', async () => {
    const page = await open(390, 844)
    try {
      // A string, as it runs in the page: the project's types have no DOM.
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth')
      assert.ok(overflow <= 0, `the page is ${overflow} px wider than the phone`)
      await page.screenshot({ path: `${OUTPUT}/status-page-phone.png`, fullPage: true })
    } finally {
      await page.close()
    }
  })
})
