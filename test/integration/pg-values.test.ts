import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { SourceQueryError } from '../../src/errors.js'
import { collectMetrics } from '../../src/metrics/collect.js'
import { PostgresSource } from '../../src/sources/postgres.js'
import { createPgDatabase, needs, withProcessTimeZone, type TestDatabase } from '../helper.js'

const OPTIONS = { connectTimeoutMs: 5000, queryTimeoutMs: 5000 }

describe('PostgreSQL values through a custom query', { skip: await needs('postgres') }, () => {
  let db: TestDatabase
  let source: PostgresSource

  before(async () => {
    db = await createPgDatabase('types')
    // Every new session on this database runs in UTC+14, so any value that goes through
    // a local time would show up shifted.
    await db.query(`ALTER DATABASE ${db.name} SET timezone TO 'Pacific/Kiritimati'`)
    await db.query(`
      CREATE TABLE items (id int PRIMARY KEY, label text);
      INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 12) g;
    `)
    source = new PostgresSource(db.url, OPTIONS)
  })

  after(async () => {
    await source.close()
    await db.drop()
  })

  async function one (sql: string): Promise<Record<string, unknown>> {
    const { rows, truncated } = await source.runReadOnly(sql, 10)
    assert.equal(truncated, false)
    assert.equal(rows.length, 1)
    return rows[0] as Record<string, unknown>
  }

  test('should give integers and counts as numbers, and beyond 2^53 - 1 exact digits', async () => {
    const row = await one(`SELECT 7::int2 AS small, 2147483647::int4 AS int,
      9007199254740991::int8 AS safe, 9007199254740993::int8 AS unsafe,
      (-9223372036854775808)::int8 AS min, (SELECT COUNT(*) FROM items) AS n,
      (SELECT SUM(id::int8) FROM items)::int8 AS total`)
    assert.deepEqual(row, { small: 7, int: 2147483647, safe: 9007199254740991,
      unsafe: '9007199254740993', min: '-9223372036854775808', n: 12, total: 78 })
  })

  test('should give a numeric as a number only when it round-trips exactly', async () => {
    const row = await one(`SELECT 10.50::numeric(10, 2) AS price, 0.1::numeric AS tenth,
      12345678901234567890.12::numeric AS huge, 0.12345678901234567890123::numeric AS long,
      'NaN'::numeric AS nan, -3::numeric AS neg, 100::numeric(6, 2) AS hundred`)
    assert.deepEqual(row, { price: 10.5, tenth: 0.1, huge: '12345678901234567890.12',
      long: '0.12345678901234567890123', nan: 'NaN', neg: -3, hundred: 100 })
  })

  test('should give floats as numbers and NaN or Infinity as strings', async () => {
    const row = await one(`SELECT 1.5::float8 AS a, 0.1::float4 AS b, 'NaN'::float8 AS c,
      'Infinity'::float8 AS d, '-Infinity'::float4 AS e, 1e300::float8 AS f`)
    assert.deepEqual(row, { a: 1.5, b: 0.1, c: 'NaN', d: 'Infinity', e: '-Infinity', f: 1e300 })
  })

  test('should give booleans as true and false', async () => {
    assert.deepEqual(await one('SELECT true AS yes, false AS no, NULL::boolean AS unknown'),
      { yes: true, no: false, unknown: null })
  })

  test('should never shift a date or a timestamp by a time zone', async () => {
    await withProcessTimeZone('America/Los_Angeles', async () => {
      assert.equal(new Date(2026, 0, 1).getTimezoneOffset(), 480, 'the process is at UTC-8')
      const row = await one(`SELECT current_setting('TimeZone') AS tz,
        '2026-01-01'::date AS new_year, '2026-12-31'::date AS last_day,
        '2026-03-08 02:30:00'::timestamp AS dst_gap,
        '2026-12-31 23:59:59.123456'::timestamp AS micro`)
      assert.deepEqual(row, { tz: 'Pacific/Kiritimati', new_year: '2026-01-01',
        last_day: '2026-12-31', dst_gap: '2026-03-08T02:30:00',
        micro: '2026-12-31T23:59:59.123456' })
    })
  })

  test('should give a timestamptz in UTC with a Z whatever the session zone', async () => {
    const row = await one(`SELECT '2026-06-01 00:30:00+00'::timestamptz AS midnight,
      '2026-06-01 10:00:00.123456-07'::timestamptz AS micro, now()::text AS local_text`)
    assert.equal(row.midnight, '2026-06-01T00:30:00Z')
    assert.equal(row.micro, '2026-06-01T17:00:00.123456Z')
    assert.match(String(row.local_text), /\+14$/, 'the session really is at UTC+14')
  })

  test('should convert a timestamptz of a year before 100 or after 9999', async () => {
    const row = await one(`SELECT '0050-06-01 00:00:00+00'::timestamptz AS ancient,
      '12026-01-01 10:00:00.5+00'::timestamptz AS far, '0050-06-01 12:00:00'::timestamp AS naive`)
    assert.deepEqual(row, { ancient: '0050-06-01T00:00:00Z', far: '12026-01-01T10:00:00.5Z',
      naive: '0050-06-01T12:00:00' })
  })

  test('should convert a timestamptz whose zone offset has seconds', async () => {
    await db.query(`ALTER DATABASE ${db.name} SET timezone TO 'America/Los_Angeles'`)
    const la = new PostgresSource(db.url, OPTIONS)
    try {
      const { rows } = await la.runReadOnly(
        "SELECT '1850-01-01 12:00:00+00'::timestamptz AS lmt, " +
        "'2026-07-04 12:00:00+00'::timestamptz AS summer", 1)
      assert.deepEqual(rows[0], { lmt: '1850-01-01T12:00:00Z', summer: '2026-07-04T12:00:00Z' })
    } finally {
      await la.close()
      await db.query(`ALTER DATABASE ${db.name} SET timezone TO 'Pacific/Kiritimati'`)
    }
  })

  test('should give json and jsonb as the nested JSON itself', async () => {
    const row = await one(`SELECT '{"a": [1, {"b": null}], "c": "x"}'::json AS j,
      '{"n": 1.5, "list": [true, "s"]}'::jsonb AS jb, '[1, 2]'::jsonb AS arr`)
    assert.deepEqual(row, { j: { a: [1, { b: null }], c: 'x' },
      jb: { n: 1.5, list: [true, 's'] }, arr: [1, 2] })
  })

  test('should keep big numbers inside json exact instead of rounding them', async () => {
    const row = await one(`SELECT '{"id": 12345678901234567890, "ok": 42}'::jsonb AS jb,
      '[9007199254740993, 1.5]'::json AS j`)
    assert.deepEqual(row, { jb: { id: '12345678901234567890', ok: 42 },
      j: ['9007199254740993', 1.5] })
  })

  test('should give bytea as base64', async () => {
    const row = await one("SELECT '\\x00ff10'::bytea AS bytes, ''::bytea AS empty")
    assert.deepEqual(row, { bytes: Buffer.from([0, 255, 16]).toString('base64'), empty: '' })
  })

  test('should give arrays as arrays of mapped values, NULL included', async () => {
    const row = await one(`SELECT ARRAY[1, NULL, 3]::int[] AS ints,
      ARRAY['a', 'b c', NULL, 'NULL', '{x}', 'q"t']::text[] AS texts,
      ARRAY['x', 'y']::varchar[] AS names,
      ARRAY[1.10, 12345678901234567890.5]::numeric[] AS decimals,
      ARRAY[[1, 2], [3, 4]]::int[] AS nested,
      ARRAY[9007199254740993]::int8[] AS bigs,
      ARRAY['2026-01-01']::date[] AS dates,
      ARRAY[true, false]::bool[] AS flags,
      ARRAY['{"k": 1}']::jsonb[] AS docs,
      '{}'::int[] AS empty`)
    assert.deepEqual(row, { ints: [1, null, 3], texts: ['a', 'b c', null, 'NULL', '{x}', 'q"t'],
      names: ['x', 'y'], decimals: [1.1, '12345678901234567890.5'], nested: [[1, 2], [3, 4]],
      bigs: ['9007199254740993'], dates: ['2026-01-01'], flags: [true, false],
      docs: [{ k: 1 }], empty: [] })
  })

  test('should give NULL as null and keep other types as PostgreSQL text', async () => {
    const row = await one(`SELECT NULL AS nothing, NULL::int AS no_int, 'hi'::text AS t,
      '6b0f3e1a-8a1e-4c1e-9f57-0c1de2a0f6b1'::uuid AS id, '1 day'::interval AS span`)
    assert.deepEqual(row, { nothing: null, no_int: null, t: 'hi',
      id: '6b0f3e1a-8a1e-4c1e-9f57-0c1de2a0f6b1', span: '1 day' })
  })

  test('should suffix repeated column names instead of dropping a value', async () => {
    const row = await one('SELECT 1 AS count, 2 AS count, 3 AS n, 4 AS count')
    assert.deepEqual(row, { count: 1, count_2: 2, n: 3, count_3: 4 })
  })

  test('should keep the rows in the query order', async () => {
    const { rows } = await source.runReadOnly('SELECT id FROM items ORDER BY id DESC', 100)
    assert.deepEqual(rows.map((r) => r.id), [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1])
  })

  test('should cut the rows at METRICS_MAX_ROWS and say truncated', async () => {
    const metrics = await collectMetrics('acme', source, {
      customQuery: 'SELECT id FROM items ORDER BY id', maxRows: 5, overallSummary: false })
    assert.deepEqual(metrics.custom_rows, [1, 2, 3, 4, 5].map((id) => ({ id })))
    assert.equal(metrics.truncated, true)

    const exact = await collectMetrics('acme', source, {
      customQuery: 'SELECT id FROM items ORDER BY id', maxRows: 12, overallSummary: false })
    assert.equal(exact.custom_rows?.length, 12)
    assert.equal(exact.truncated, undefined)
  })

  test('should refuse custom SQL that writes and leave the table unchanged', async () => {
    const writes = [
      'DELETE FROM items',
      "INSERT INTO items VALUES (99, 'x') RETURNING id",
      "UPDATE items SET label = 'changed'",
      'WITH gone AS (DELETE FROM items RETURNING id) SELECT count(*) FROM gone',
      'DROP TABLE items',
      'SELECT 1; DELETE FROM items',
      'COMMIT; DELETE FROM items'
    ]
    for (const sql of writes) {
      await assert.rejects(source.runReadOnly(sql, 10), (error: unknown) => {
        assert.ok(error instanceof SourceQueryError, sql)
        assert.equal(error.isRetryable, false, sql)
        return true
      })
    }

    const { rows } = await db.query('SELECT count(*)::int AS n, count(*) FILTER (WHERE ' +
      "label = 'item ' || id)::int AS same FROM items")
    assert.deepEqual(rows[0], { n: 12, same: 12 })
  })

  test('should say read-only in the error of a refused write', async () => {
    await assert.rejects(source.runReadOnly('DELETE FROM items', 10),
      /read-only transaction.*SQLSTATE 25006/)
  })

  test('should stop a custom query at METRICS_QUERY_TIMEOUT_MS', async () => {
    const quick = new PostgresSource(db.url, { connectTimeoutMs: 3000, queryTimeoutMs: 300 })
    const started = Date.now()
    try {
      await assert.rejects(quick.runReadOnly('SELECT pg_sleep(5)', 1), (error: unknown) => {
        assert.ok(error instanceof SourceQueryError)
        assert.equal(error.isTimeout, true)
        assert.match(error.message, /METRICS_QUERY_TIMEOUT_MS/)
        return true
      })
      assert.ok(Date.now() - started < 2500, `took ${Date.now() - started} ms`)
    } finally {
      await quick.close()
    }
  })

  test('should not call a statement cancelled by someone else a timeout', async () => {
    const marker = `cancel-probe-${Date.now()}`
    const running = source.runReadOnly(`SELECT pg_sleep(5), '${marker}' AS marker`, 1)
    const outcome = running.then(() => undefined, (error: unknown) => error)
    for (let i = 0; i < 50; i++) {
      const found = await db.query(`SELECT pg_cancel_backend(pid) AS done FROM pg_stat_activity
        WHERE query LIKE '%${marker}%' AND pid <> pg_backend_pid()`)
      if (found.rows.length > 0) break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }

    const error = await outcome
    assert.ok(error instanceof SourceQueryError)
    assert.equal(error.isTimeout, false)
    assert.match(error.message, /canceling statement due to user request/)
    assert.doesNotMatch(error.message, /METRICS_QUERY_TIMEOUT_MS/)
  })

  test('should refuse a custom query that returns no result set', async () => {
    await assert.rejects(source.runReadOnly('COMMIT', 10), (error: unknown) => {
      assert.ok(error instanceof SourceQueryError)
      assert.equal(error.isRetryable, false)
      assert.match(error.message, /no result set/)
      return true
    })
    assert.deepEqual((await source.runReadOnly('SELECT 1 AS n WHERE false', 10)).rows, [])
  })
})
