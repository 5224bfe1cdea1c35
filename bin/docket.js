#!/usr/bin/env node
// `docket`: the operators' command line. The commands are TypeScript; tsx compiles them on the
// fly, so nothing is built first and the CLI always runs the code in the tree.
import process from "node:process";
import { register } from "tsx/esm/api";

// `docket … | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on("error", (error) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

register();
const { main } = await import("../scripts/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
