import { decimalFromText, floatFromValue, integerFromText, parseJsonExact, type JsonValue }
  from './json-values.js'

/** What the mapping needs of a mysql2 column definition. */
export interface MysqlColumn {
  /** The protocol's type code (mysql2's `Types`). */
  columnType?: number
  /** The display width: 1 for TINYINT(1), MySQL's BOOLEAN. */
  columnLength?: number
  /** 63 is `binary`: BLOB, BINARY, VARBINARY and BIT columns. */
  characterSet?: number
  /** "json" where MariaDB, which sends JSON as LONGTEXT, flags the column as JSON. */
  extendedFormat?: string
}

/** Protocol type codes, as the MySQL client/server protocol numbers them. */
const T = {
  DECIMAL: 0,
  TINY: 1,
  FLOAT: 4,
  DOUBLE: 5,
  TIMESTAMP: 7,
  LONGLONG: 8,
  DATE: 10,
  DATETIME: 12,
  NEWDATE: 14,
  BIT: 16,
  JSON: 245,
  NEWDECIMAL: 246
} as const

/**
 * The driver settings that the mapping below expects: BIGINT, DECIMAL and every date as
 * the server's exact text, so that nothing is rounded or shifted on the way; JSON too, so
 * that its big numbers keep their digits.
 */
export const MYSQL_DRIVER_TYPES = {
  supportBigNumbers: true,
  bigNumberStrings: true,
  dateStrings: true,
  decimalNumbers: false,
  jsonStrings: true
} as const

/**
 * Maps one value, as mysql2 gives it with MYSQL_DRIVER_TYPES, to the JSON our users expect
 * (DESIGN.md's table). TIMESTAMP text is taken to be UTC: the source sets its session's
 * time zone to +00:00.
 */
export function mysqlJsonValue (column: MysqlColumn, value: unknown): JsonValue {
  if (value === null || value === undefined) return null
  if (column.extendedFormat === 'json') return parseJsonExact(String(value))

  switch (column.columnType) {
    case T.TINY:
      return column.columnLength === 1 ? Number(value) !== 0 : Number(value)
    case T.LONGLONG:
      return integerFromText(String(value))
    case T.DECIMAL:
    case T.NEWDECIMAL:
      return decimalFromText(String(value))
    case T.FLOAT:
    case T.DOUBLE:
      return floatFromValue(Number(value))
    case T.DATE:
    case T.NEWDATE:
      return String(value)
    case T.DATETIME:
      return dateTimeToIso(String(value), '')
    case T.TIMESTAMP:
      return dateTimeToIso(String(value), 'Z')
    case T.JSON:
      return parseJsonExact(String(value))
    case T.BIT:
      return Buffer.isBuffer(value) ? bitsToInteger(value) : Number(value)
  }
  return plainJson(value)
}

/** Strings, numbers and parsed JSON pass; bytes become base64. */
function plainJson (value: unknown): JsonValue {
  if (Buffer.isBuffer(value)) return value.toString('base64')
  if (typeof value === 'bigint') return integerFromText(value.toString())
  if (value instanceof Date) return value.toISOString()
  return value as JsonValue
}

/**
 * "2026-12-03 16:00:00.123456" becomes "2026-12-03T16:00:00.123456" plus `suffix`. A zero
 * date ("0000-00-00 00:00:00", which MySQL allows) is no instant: it stays as the server
 * wrote it.
 */
function dateTimeToIso (text: string, suffix: string): string {
  if (!/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/.test(text)) return text
  if (text.startsWith('0000-00-00')) return text
  return text.replace(' ', 'T') + suffix
}

function bitsToInteger (bytes: Buffer): number | string {
  let value = 0n
  for (const byte of bytes) value = (value << 8n) | BigInt(byte)
  return integerFromText(value.toString())
}
