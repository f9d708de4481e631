import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ALL_BRANDS, ReadCache, type RenderedAnswer } from '../../src/read-cache.js'

/** A cache on a clock the test moves, and a render that counts its calls. */
function harness (ttlMs: number): {
  cache: ReadCache
  tick: (ms: number) => void
  render: (body: string) => () => Promise<RenderedAnswer>
  renders: () => number
} {
  let now = 1000
  let count = 0
  const cache = new ReadCache({ brands: ['acme', 'globex'], ttlMs, now: () => now })
  return {
    cache,
    tick: (ms) => { now += ms },
    render: (body) => async () => {
      count++
      return { statusCode: 200, body, etag: `W/"${body}"` }
    },
    renders: () => count
  }
}

describe('ReadCache', () => {
  test('should serve a kept answer until its time is up, then render again', async () => {
    const h = harness(1000)

    const first = await h.cache.answer('acme', h.render('one'))
    h.tick(999)
    const kept = await h.cache.answer('acme', h.render('two'))
    h.tick(1)
    const renewed = await h.cache.answer('acme', h.render('three'))

    assert.deepEqual([first.body, kept.body, renewed.body], ['one', 'one', 'three'])
    assert.equal(h.renders(), 2)
  })

  test('should render every time when its time is 0', async () => {
    const h = harness(0)

    for (let i = 0; i < 3; i++) await h.cache.answer('acme', h.render(`v${i}`))

    assert.equal(h.renders(), 3)
    assert.equal(h.cache.size, 0)
  })

  test('should drop a brand and the all-brands answer, and no other, on invalidate', async () => {
    const h = harness(1000)
    for (const key of ['acme', 'globex', ALL_BRANDS]) await h.cache.answer(key, h.render('old'))

    h.cache.invalidate('acme')
    const answers = await Promise.all(['acme', 'globex', ALL_BRANDS].map(async (key) =>
      (await h.cache.answer(key, h.render('new'))).body))

    assert.deepEqual(answers, ['new', 'old', 'new'])
  })

  test('should not keep an answer rendered across an invalidation', async () => {
    const h = harness(1000)
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => { release = resolve })
    // This render read the store before the write that the invalidation stands for.
    const inFlight = h.cache.answer('acme', async () => {
      await gate
      return { statusCode: 200, body: 'before the write' }
    })

    h.cache.invalidate('acme')
    release()
    assert.equal((await inFlight).body, 'before the write')
    const next = await h.cache.answer('acme', h.render('after the write'))

    assert.equal(next.body, 'after the write')
  })

  test('should keep nothing when the render fails', async () => {
    const h = harness(1000)

    await assert.rejects(h.cache.answer('acme', async () => {
      throw new Error('store down')
    }), /store down/)
    const next = await h.cache.answer('acme', h.render('up again'))

    assert.equal(next.body, 'up again')
    assert.equal(h.renders(), 1)
  })

  test('should hold at most one entry per brand plus one, whatever keys are asked', async () => {
    const h = harness(1000)

    for (let i = 0; i < 50; i++) await h.cache.answer(`stranger-${i}`, h.render('x'))
    for (const key of ['acme', 'globex', ALL_BRANDS, 'acme']) {
      h.tick(2000)
      await h.cache.answer(key, h.render('y'))
    }

    assert.equal(h.cache.size, 3)
  })

  test('should time an entry from before its render, so a slow read is not kept longer',
    async () => {
      const h = harness(1000)

      await h.cache.answer('acme', async () => {
        h.tick(400)
        return { statusCode: 200, body: 'slow' }
      })
      h.tick(600)
      const next = await h.cache.answer('acme', h.render('fresh'))

      assert.equal(next.body, 'fresh')
    })
})
