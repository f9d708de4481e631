import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { SourceConnectError, SourceQueryError } from '../../src/errors.js'
import { MysqlSource } from '../../src/sources/mysql.js'
import { openSource } from '../../src/sources/index.js'
import { MYSQL_ADMIN_URL, needs } from '../helper.js'
import { createMysqlDatabase, type MysqlTestDatabase } from '../mysql-helper.js'

const OPTIONS = { connectTimeoutMs: 3000, queryTimeoutMs: 5000 }

describe('MySQL/MariaDB source', { skip: await needs('mysql') }, () => {
  let db: MysqlTestDatabase
  let source: MysqlSource

  before(async () => {
    db = await createMysqlDatabase('src')
    await db.query(`
      CREATE TABLE products (id INT PRIMARY KEY);
      INSERT INTO products VALUES (1), (2), (3);
      CREATE TABLE typed (
        id INT PRIMARY KEY, price DECIMAL(10, 2), big_price DECIMAL(30, 10),
        small BIGINT, huge BIGINT UNSIGNED, day DATE, at DATETIME(6), stamped TIMESTAMP(3) NULL,
        doc JSON, bytes BLOB, raw VARBINARY(8), flag TINYINT(1), active BOOLEAN,
        tiny TINYINT, ratio FLOAT, precise DOUBLE, label TEXT, nothing INT, bits BIT(12)
      );
      SET time_zone = '+02:00';
      INSERT INTO typed VALUES (1, 12.50, 12345678901234567890.1234567891, 42,
        18446744073709551615, '2026-12-03', '2026-12-03 16:00:00.123456',
        '2026-12-03 18:00:00.250', '{"a": [1, {"b": null}], "s": "x"}', x'00FF10', x'CAFE',
        1, FALSE, -5, 1.5, 0.1, 'Grüße "quoted" ✓', NULL, b'101');
    `)
    source = new MysqlSource(db.url, OPTIONS)
  })

  after(async () => {
    await source.close()
    await db.drop()
  })

  test('should map every MySQL type to the JSON the design table asks for', async () => {
    const { rows, truncated } = await source.runReadOnly('SELECT * FROM typed', 10)

    assert.equal(truncated, false)
    assert.deepEqual(rows, [{
      id: 1,
      price: 12.5,
      big_price: '12345678901234567890.1234567891',
      small: 42,
      huge: '18446744073709551615',
      day: '2026-12-03',
      at: '2026-12-03T16:00:00.123456',
      stamped: '2026-12-03T16:00:00.250Z',
      doc: { a: [1, { b: null }], s: 'x' },
      bytes: 'AP8Q',
      raw: 'yv4=',
      flag: true,
      active: false,
      tiny: -5,
      ratio: 1.5,
      precise: 0.1,
      label: 'Grüße "quoted" ✓',
      nothing: null,
      bits: 5
    }])
  })

  test('should keep every digit of a big number inside a JSON column', async () => {
    await db.query(`CREATE TABLE docs (doc JSON);
      INSERT INTO docs VALUES ('{"id": 12345678901234567890, "n": 1.5}');`)

    const { rows } = await source.runReadOnly('SELECT doc FROM docs', 10)

    assert.deepEqual(rows, [{ doc: { id: '12345678901234567890', n: 1.5 } }])
  })

  test('should refuse a custom query that returns no result set', async () => {
    await assert.rejects(source.runReadOnly('COMMIT', 10), (error: unknown) => {
      assert.ok(error instanceof SourceQueryError)
      assert.equal(error.isRetryable, false)
      assert.match(error.message, /no result set/)
      return true
    })
    assert.deepEqual((await source.runReadOnly('SELECT 1 AS n FROM DUAL WHERE 1 = 0', 10)).rows,
      [])
  })

  test('should stop a running statement on close instead of letting it run out', async () => {
    const closing = new MysqlSource(db.url, OPTIONS)
    const running = closing.runReadOnly('SELECT SLEEP(20) AS slept', 1)
    const outcome = running.then(() => 'finished', () => 'stopped')
    await new Promise((resolve) => setTimeout(resolve, 500))
    const started = Date.now()

    await closing.close()

    assert.equal(await outcome, 'stopped')
    assert.ok(Date.now() - started < 3000, `close took ${Date.now() - started} ms`)
    const [left] = await db.query('SELECT COUNT(*) AS n FROM information_schema.processlist ' +
      'WHERE info LIKE \'SELECT SLEEP(20)%\'') as Array<{ n: number | string }>
    assert.equal(Number(left?.n), 0, 'the statement still runs on the server')
  })

  test('should suffix a column name that a query repeats', async () => {
    const { rows } = await source.runReadOnly('SELECT 1 AS count, 2 AS count, 3 AS count', 10)

    assert.deepEqual(rows, [{ count: 1, count_2: 2, count_3: 3 }])
  })

  test('should keep at most maxRows rows in order and mark the result truncated', async () => {
    const { rows, truncated } = await source.runReadOnly(
      'SELECT seq AS n FROM seq_1_to_100000 ORDER BY seq DESC', 3)

    assert.equal(truncated, true)
    assert.deepEqual(rows, [{ n: 100000 }, { n: 99999 }, { n: 99998 }])
    assert.equal(await source.countRows('products'), 3, 'the pool recovers after a cut result')
  })

  test('should reuse a pooled connection between calls', async () => {
    const first = await source.runReadOnly('SELECT CONNECTION_ID() AS id', 1)
    const second = await source.runReadOnly('SELECT CONNECTION_ID() AS id', 1)

    assert.deepEqual(second.rows, first.rows)
  })

  test('should count rows and tell which tables exist', async () => {
    assert.equal(await source.countRows('products'), 3)
    assert.equal(await source.hasTable('products'), true)
    assert.equal(await source.hasTable('customers'), false)
    assert.equal(await source.hasTable(`${db.name}.typed`), true)
  })

  test('should refuse a write in the read-only transaction', async () => {
    await assert.rejects(source.runReadOnly('INSERT INTO products VALUES (99)', 10),
      (error: unknown) => {
        assert.ok(error instanceof SourceQueryError)
        assert.equal(error.isRetryable, false)
        assert.match(error.message, /READ ONLY/i)
        return true
      })
    assert.equal(await source.countRows('products'), 3)
  })

  test('should refuse DDL, which would otherwise commit the read-only transaction', async () => {
    await assert.rejects(source.runReadOnly('CREATE TABLE sneaky (id INT)', 10),
      SourceQueryError)
    await assert.rejects(source.runReadOnly('DROP TABLE products', 10), SourceQueryError)

    assert.equal(await source.hasTable('sneaky'), false)
    assert.equal(await source.hasTable('products'), true)
  })

  test('should stop a statement at METRICS_QUERY_TIMEOUT_MS', async () => {
    const quick = new MysqlSource(db.url, { connectTimeoutMs: 3000, queryTimeoutMs: 500 })
    const started = Date.now()
    try {
      await assert.rejects(quick.runReadOnly('SELECT SLEEP(5) AS slept', 10),
        (error: unknown) => {
          assert.ok(error instanceof SourceQueryError)
          assert.equal(error.isTimeout, true)
          assert.equal(error.code, 'SOURCE_QUERY_TIMEOUT')
          return true
        })
      assert.ok(Date.now() - started < 2500, `took ${Date.now() - started} ms`)
      assert.equal(await quick.countRows('products'), 3, 'the source works afterwards')
    } finally {
      await quick.close()
    }
  })

  test('should fail a bad password with a message that holds neither it nor the URL',
    async () => {
      const url = new URL(db.url)
      url.username = 'mc_nobody'
      url.password = 'Sup3r-Secret-Pw'
      const bad = openSource(url.toString(), OPTIONS)
      try {
        await assert.rejects(bad.ping(), (error: unknown) => {
          assert.ok(error instanceof SourceConnectError)
          assert.match(error.message, /Access denied/)
          assert.ok(!error.message.includes('Sup3r-Secret-Pw'), error.message)
          assert.ok(!error.message.includes(url.toString()), error.message)
          return true
        })
      } finally {
        await bad.close()
      }
    })

  test('should open mariadb:// URLs with the same source', async () => {
    const url = db.url.replace(/^mysql:/, 'mariadb:')
    const maria = openSource(url, OPTIONS)
    try {
      assert.equal(await maria.countRows('products'), 3)
    } finally {
      await maria.close()
    }
  })
})

describe('MySQL source client-side deadline', { skip: await needs('mysql') }, () => {
  let proxy: Server
  let stalled = false
  const sockets = new Set<Socket>()

  before(async () => {
    // Forwards to the real server until `stalled`, then swallows the server's replies:
    // a network that hangs mid-query, which no server-side limit can end.
    const target = new URL(MYSQL_ADMIN_URL)
    proxy = createServer((client) => {
      const server = connect(Number(target.port || 3306), target.hostname)
      for (const socket of [client, server]) {
        sockets.add(socket)
        socket.on('error', () => {})
        socket.on('close', () => { client.destroy(); server.destroy() })
      }
      client.on('data', (chunk) => { server.write(chunk) })
      server.on('data', (chunk) => { if (!stalled) client.write(chunk) })
    })
    await new Promise<void>((resolve) => { proxy.listen(0, '127.0.0.1', resolve) })
  })

  after(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => { proxy.close(() => { resolve() }) })
  })

  test('should drop a connection whose reply never comes and connect anew', async () => {
    const url = new URL(MYSQL_ADMIN_URL)
    url.host = `127.0.0.1:${(proxy.address() as AddressInfo).port}`
    const source = new MysqlSource(url.toString(), { connectTimeoutMs: 2000, queryTimeoutMs: 200 })
    try {
      await source.ping()
      stalled = true
      const started = Date.now()
      await assert.rejects(source.runReadOnly('SELECT 1 AS one', 10), (error: unknown) => {
        assert.ok(error instanceof SourceQueryError)
        assert.equal(error.isTimeout, true)
        return true
      })
      const took = Date.now() - started
      assert.ok(took >= 2000 && took < 3500, `took ${took} ms`)

      stalled = false
      assert.deepEqual((await source.runReadOnly('SELECT 1 AS one', 10)).rows, [{ one: 1 }])
    } finally {
      stalled = false
      await source.close()
    }
  })
})

describe('MySQL source connect deadline', () => {
  let server: Server
  const sockets = new Set<Socket>()

  before(async () => {
    // Accepts and then says nothing, like a firewall that swallows the handshake.
    server = createServer((socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    })
    await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  })

  after(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  })

  test('should give up connecting after METRICS_CONNECT_TIMEOUT_MS', async () => {
    const { port } = server.address() as AddressInfo
    const silent = new MysqlSource(`mysql://u:pw-123456@127.0.0.1:${port}/db`,
      { connectTimeoutMs: 400, queryTimeoutMs: 5000 })
    const started = Date.now()
    try {
      await assert.rejects(silent.ping(), SourceConnectError)
      assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`)
    } finally {
      await silent.close()
    }
  })
})
