import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BrandConfigError } from '../../src/errors.js'
import { openSource } from '../../src/sources/index.js'
import { openStore } from '../../src/store/index.js'

const OPTIONS = { connectTimeoutMs: 1000, queryTimeoutMs: 1000 }

test('should open the Upstash REST store when the configuration names it', async () => {
  const store = openStore({ kind: 'upstash-rest', url: 'https://eu1-x.upstash.io', token: 't' })

  assert.equal(store.kind, 'upstash-rest')
  await store.close()
})

test('should open a MySQL source for mysql:// and mariadb:// URLs', async () => {
  for (const url of ['mysql://u:p@db.example.com/shop', 'mariadb://u:p@db.example.com:3307/shop']) {
    const source = openSource(url, OPTIONS)
    assert.equal(source.target.engine, 'mysql')
    assert.equal(source.target.database, 'shop')
    await source.close()
  }
})

test('should refuse a database URL scheme no driver handles', () => {
  assert.throws(() => openSource('sqlite://file.db', OPTIONS), BrandConfigError)
})
