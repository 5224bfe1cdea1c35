// `npm run db:seed`: loads the demo data into DATABASE_URL (idempotent; `npm start` runs it too).
import { DEMO_DATA, seedDemoData } from "./lib/demo-data";

const url = process.env.DATABASE_URL;
if (!url) {
  console.error("db:seed: DATABASE_URL is not set (postgres://user:password@host:port/database)");
  process.exit(2);
}
try {
  const report = await seedDemoData(url);
  const where = `${new URL(url).host}${new URL(url).pathname}`;
  if (DEMO_DATA.length === 0) console.log(`db:seed: no demo data defined yet; nothing written to ${where}`);
  else
    console.log(
      `db:seed: ${report.total} rows upserted into ${where} (${Object.entries(report.tables)
        .map(([t, n]) => `${t} ${n}`)
        .join(", ")})`,
    );
} catch (error) {
  console.error(`db:seed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
