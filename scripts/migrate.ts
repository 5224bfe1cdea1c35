// `npm run db:migrate`: applies migrations/ to DATABASE_URL.
import { applyMigrations } from "./lib/migrations";

const url = process.env.DATABASE_URL;
if (!url) {
  console.error("db:migrate: DATABASE_URL is not set (postgres://user:password@host:port/database)");
  process.exit(2);
}
try {
  await applyMigrations(url);
  console.log(`db:migrate: migrations applied to ${new URL(url).host}${new URL(url).pathname}`);
} catch (error) {
  console.error(`db:migrate: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
