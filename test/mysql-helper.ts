import mysql from 'mysql2/promise'
import { MYSQL_ADMIN_URL, uniqueName } from './helper.js'

/** A throwaway MySQL/MariaDB database; `drop()` removes it. */
export interface MysqlTestDatabase {
  name: string
  url: string
  /** Runs one or more statements as the admin user, inside the database. */
  query: (sql: string) => Promise<unknown>
  drop: () => Promise<void>
}

/** Creates `mc_<label>_<random>` on the test server, for one test run. */
export async function createMysqlDatabase (label = 'db'): Promise<MysqlTestDatabase> {
  const name = uniqueName(label)
  await adminMysql(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`)
  const url = new URL(MYSQL_ADMIN_URL)
  url.pathname = `/${name}`
  const conn = await mysql.createConnection({
    uri: url.toString(), multipleStatements: true, charset: 'utf8mb4'
  })

  return {
    name,
    url: url.toString(),
    query: async (sql) => (await conn.query(sql))[0],
    drop: async () => {
      await conn.end()
      await adminMysql(`DROP DATABASE IF EXISTS ${name}`)
    }
  }
}

/** A MySQL database with the default tables `products` and `orders` only (no customers). */
export async function createMysqlShop (products: number, orders: number):
Promise<MysqlTestDatabase> {
  const db = await createMysqlDatabase('myshop')
  await db.query(`
    CREATE TABLE products (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40));
    CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, total DECIMAL(10, 2));
    INSERT INTO products (name) SELECT CONCAT('p', seq) FROM seq_1_to_${products};
    INSERT INTO orders (total) SELECT seq * 1.5 FROM seq_1_to_${orders};
  `)
  return db
}

export async function adminMysql (sql: string): Promise<void> {
  const conn = await mysql.createConnection({ uri: MYSQL_ADMIN_URL })
  try {
    await conn.query(sql)
  } finally {
    await conn.end()
  }
}
