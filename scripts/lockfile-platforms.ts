// `npm run lockfile:platforms`: gives every optional dependency named in package-lock.json an
// entry of its own, so `npm ci` accepts the lockfile even when the registry mirror lacked a
// platform build at install time (docs/decisions/0004-lockfile-platform-entries.md). The
// entry copies os/cpu from the package's name (darwin, linux, windows/win32; x64, arm64).
import { readFileSync, writeFileSync } from "node:fs";

type LockPackage = { version?: string; dev?: boolean; optionalDependencies?: Record<string, string> } & Record<
  string,
  unknown
>;
const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8")) as { packages: Record<string, LockPackage> };

const added: string[] = [];
for (const [owner, pkg] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`;
    if (lock.packages[key] || lock.packages[`${owner}/${key}`]) continue;
    const os = /darwin/.test(dep)
      ? "darwin"
      : /win(32|dows)/.test(dep)
        ? "win32"
        : /linux/.test(dep)
          ? "linux"
          : undefined;
    const cpu = /arm64/.test(dep) ? "arm64" : /(x64|-64)$/.test(dep) ? "x64" : undefined;
    lock.packages[key] = {
      version,
      ...(cpu ? { cpu: [cpu] } : {}),
      ...(pkg.dev ? { dev: true } : {}),
      optional: true,
      ...(os ? { os: [os] } : {}),
    };
    added.push(`${dep}@${version}`);
  }
}
const [root, ...rest] = Object.entries(lock.packages);
lock.packages = Object.fromEntries([root!, ...rest.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(
  added.length === 0 ? "lockfile: every optional dependency has an entry" : `lockfile: added ${added.join(", ")}`,
);
