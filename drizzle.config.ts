import { defineConfig } from "drizzle-kit";

// `npm run db:generate` writes SQL migrations from db/schema; `npm run db:migrate`
// (scripts/migrate.ts) applies them to DATABASE_URL.
export default defineConfig({
  dialect: "postgresql",
  schema: "./db/schema/index.ts",
  out: "./migrations",
  dbCredentials: { url: process.env.DATABASE_URL ?? "postgres://localhost/docket" },
  strict: true,
});
