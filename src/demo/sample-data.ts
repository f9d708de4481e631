/** One demo brand: its id, how much data its shop holds and, maybe, a custom query. */
export interface SampleBrand {
  id: string
  products: number
  customers: number
  /** Orders spread over the last `days` days. */
  orders: number
  days: number
  /** Cached as `custom_rows` instead of the default counts. */
  metricsQuery?: string
}

/** Four shops of different sizes; one reports revenue by day through its own query. */
export const SAMPLE_BRANDS: readonly SampleBrand[] = [
  { id: 'northwind', products: 77, customers: 91, orders: 830, days: 30 },
  { id: 'acme-eu', products: 240, customers: 1312, orders: 4870, days: 30 },
  { id: 'globex', products: 35, customers: 410, orders: 1290, days: 14, metricsQuery:
    'SELECT created_at::date AS day, COUNT(*)::int AS orders, SUM(total) AS revenue ' +
    'FROM orders WHERE created_at >= CURRENT_DATE - 6 GROUP BY 1 ORDER BY 1 DESC' },
  { id: 'initech', products: 12, customers: 58, orders: 143, days: 60 }
]

/**
 * The SQL that creates and fills a brand's shop. Values come from generate_series and
 * a fixed arithmetic spread, so every run shows the same believable numbers.
 */
export function sampleSchemaSql (brand: SampleBrand): string {
  return `
    CREATE TABLE products (
      id serial PRIMARY KEY, name text NOT NULL, price numeric(10, 2) NOT NULL);
    CREATE TABLE customers (
      id serial PRIMARY KEY, email text NOT NULL UNIQUE, created_at timestamptz NOT NULL);
    CREATE TABLE orders (
      id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers (id),
      total numeric(10, 2) NOT NULL, created_at timestamptz NOT NULL);

    INSERT INTO products (name, price)
      SELECT 'Product ' || g, round((4.99 + (g * 37 % 200))::numeric, 2)
      FROM generate_series(1, ${brand.products}) g;
    INSERT INTO customers (email, created_at)
      SELECT 'customer' || g || '@${brand.id}.example', now() - (g % 365) * interval '1 day'
      FROM generate_series(1, ${brand.customers}) g;
    INSERT INTO orders (customer_id, total, created_at)
      SELECT 1 + (g * 7919 % ${brand.customers}), round(12 + (g * 53 % 180) + (g % 100) / 100.0, 2),
        date_trunc('day', now()) - (g % ${brand.days}) * interval '1 day'
          + (g * 97 % 86400) * interval '1 second'
      FROM generate_series(1, ${brand.orders}) g;`
}
