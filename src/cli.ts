#!/usr/bin/env node
// The flint command line. Each subcommand lives in src/cli/<name>.ts and registers itself here.
import { Command } from "commander";
import { registerBench } from "./cli/bench.js";
import { registerBuildNative } from "./cli/build-native.js";
import { registerInspect } from "./cli/inspect.js";
import { registerLs } from "./cli/ls.js";
import { registerMakeModel } from "./cli/make-model.js";
import { registerPair } from "./cli/pair.js";
import { registerPull } from "./cli/pull.js";
import { registerQuantize } from "./cli/quantize.js";
import { registerRun } from "./cli/run.js";
import { registerServe } from "./cli/serve.js";
import { registerTune } from "./cli/tune.js";
import { UserError } from "./native/errors.js";
import { setLogLevel } from "./native/log.js";
import { choice } from "./cli/options.js";
import { VERSION } from "./version.js";

const program = new Command();
program
  .name("flint")
  .description("fast, correct local LLM inference on llama.cpp")
  .version(VERSION)
  .option("-v, --verbose", "show llama.cpp's log (info and above)")
  .option("--log-level <level>", "llama.cpp's log from this level: debug, info, warn, error, none", choice(["debug", "info", "warn", "error", "none"] as const))
  .hook("preAction", (cmd) => {
    const o = cmd.opts<{ verbose?: boolean; logLevel?: "debug" | "info" | "warn" | "error" | "none" }>();
    if (o.logLevel) setLogLevel(o.logLevel);
    else if (o.verbose) setLogLevel("info");
  });

registerRun(program);
registerMakeModel(program);
registerQuantize(program);
registerInspect(program);
registerPull(program);
registerLs(program);
registerPair(program);
registerBuildNative(program);
registerServe(program);
registerBench(program);
registerTune(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof UserError || (err instanceof Error && err.name === "UserError")) {
    process.stderr.write(`flint: ${err.message}\n`);
  } else {
    process.stderr.write(`flint: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exitCode = 1;
});
