import postgresArray from 'postgres-array'
import { decimalFromText, integerFromText, parseJsonExact, type JsonValue } from
  './json-values.js'

type TextParser = (text: string) => JsonValue

/**
 * PostgreSQL sends every value as text; these parsers turn that text into the JSON our
 * users expect, by type OID. Types not listed stay text (uuid, varchar, enums, time).
 */
const SCALARS: Record<number, TextParser> = {
  16: (text) => text === 't', // bool
  17: byteaToBase64, // bytea
  20: integerFromText, // int8, also COUNT(*)
  21: Number, // int2
  23: Number, // int4
  26: Number, // oid
  114: parseJsonExact, // json
  3802: parseJsonExact, // jsonb
  700: floatFromText, // float4
  701: floatFromText, // float8
  1700: decimalFromText, // numeric
  1082: (text) => text, // date: never through a Date, which would shift it by a time zone
  1114: timestampToIso, // timestamp without time zone
  1184: timestamptzToUtcIso // timestamptz
}

/** Array type OID to its element type OID. */
const ARRAYS: Record<number, number> = {
  1000: 16,
  1001: 17,
  1016: 20,
  1005: 21,
  1007: 23,
  1028: 26,
  199: 114,
  3807: 3802,
  1021: 700,
  1022: 701,
  1231: 1700,
  1182: 1082,
  1115: 1114,
  1185: 1184
}

/**
 * Array types of built-in scalars that stay text (text, varchar, char, name, uuid, time,
 * interval, network and bit types, money, xml): their elements keep PostgreSQL's text,
 * but the array itself still becomes a JSON array.
 */
const TEXT_ARRAYS = new Set([143, 651, 791, 1002, 1003, 1009, 1014, 1015, 1040, 1041, 1183,
  1187, 1270, 1561, 1563, 2951])

const keepText: TextParser = (text) => text

/**
 * A node-postgres `types` object mapping every column to its JSON value.
 *
 * Limitation: arrays of types without a fixed OID (enums, domains, extension types such
 * as citext) arrive as PostgreSQL's array text, `{a,b}`, since their element type is not
 * known without a catalog lookup.
 */
export const pgJsonTypes = {
  getTypeParser (oid: number, format?: string): TextParser {
    if (format === 'binary') return keepText
    const scalar = SCALARS[oid]
    if (scalar !== undefined) return scalar

    const element = ARRAYS[oid]
    const elementParser = element === undefined ? undefined : SCALARS[element]
    if (elementParser !== undefined) {
      return (text) => postgresArray.parse(text, elementParser) as JsonValue
    }
    if (TEXT_ARRAYS.has(oid)) return (text) => postgresArray.parse(text, keepText) as JsonValue
    return keepText
  }
}

function floatFromText (text: string): number | string {
  const value = Number(text)
  return Number.isFinite(value) ? value : text
}

function byteaToBase64 (text: string): string {
  // PostgreSQL's default bytea_output is hex: "\x" then two digits per byte.
  if (text.startsWith('\\x')) return Buffer.from(text.slice(2), 'hex').toString('base64')
  return Buffer.from(text, 'latin1').toString('base64')
}

function timestampToIso (text: string): string {
  return /^\d{4}-\d\d-\d\d \d/.test(text) ? text.replace(' ', 'T') : text
}

/**
 * Writes a timestamptz in UTC with a "Z", whatever the session's time zone, keeping
 * every fractional digit (a Date would cut microseconds).
 */
export function timestamptzToUtcIso (text: string): string {
  const match = /^(\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(\.\d+)?([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?$/
    .exec(text)
  if (match === null) return text // infinity, BC dates: keep PostgreSQL's own words

  const [, y, mo, d, h, mi, s, fraction = '', sign, oh, om = '0', os = '0'] = match
  const offsetSeconds = (sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om) * 60 +
    Number(os))
  // Date.UTC reads years 0-99 as 1900-1999, so the year is set on its own.
  const local = new Date(Date.UTC(2000, 0, 1, Number(h), Number(mi), Number(s)))
  local.setUTCFullYear(Number(y), Number(mo) - 1, Number(d))
  const utc = new Date(local.getTime() - offsetSeconds * 1000)
  return `${isoWithoutMs(utc)}${fraction}Z`
}

/** `YYYY-MM-DDTHH:MM:SS`, with PostgreSQL's plain digits for a year past 9999. */
function isoWithoutMs (date: Date): string {
  return date.toISOString().slice(0, -5).replace(/^\+0*/, '')
}
