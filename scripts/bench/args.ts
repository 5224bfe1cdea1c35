/** `npm run bench -- [--only name[,name]] [--duration s] [--connections n]`. */
export interface BenchArgs {
  only?: string[];
  durationSeconds: number;
  connections: number;
  help: boolean;
}

export const BENCH_USAGE = `usage: npm run bench -- [--only name[,name…]] [--duration seconds] [--connections n]
  --only         run these benchmarks (the baseline always runs: the ratios need it)
  --duration     measured seconds per benchmark, 1-120 (default 10), after a short warm-up
  --connections  concurrent connections, 1-256 (default 10)`;

function bounded(flag: string, raw: string | undefined, min: number, max: number): number {
  const value = Number(raw);
  if (raw === undefined || !Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${flag} needs a whole number from ${min} to ${max}, got ${raw ?? "nothing"}`);
  }
  return value;
}

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { durationSeconds: 10, connections: 10, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case "--only": {
        const names = (value() ?? "")
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
        if (names.length === 0) throw new Error("--only needs a benchmark name");
        args.only = [...(args.only ?? []), ...names];
        break;
      }
      case "--duration":
        args.durationSeconds = bounded("--duration", value(), 1, 120);
        break;
      case "--connections":
        args.connections = bounded("--connections", value(), 1, 256);
        break;
      case "--help":
      case "-h":
        args.help = true;
        break;
      default:
        throw new Error(`unknown argument ${arg}\n${BENCH_USAGE}`);
    }
  }
  return args;
}
