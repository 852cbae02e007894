// `flint build-native`: builds the pinned llama.cpp for this machine's GPU. Everything for people goes
// to stderr; stdout carries only the library directory, so scripts can capture it:
//   export FLINT_LLAMA_LIB_DIR=$(flint build-native --gpu cuda --arch 90 | tail -1)
import type { Command } from "commander";
import { buildNative, GPUS, PINNED, UserError, type BuildLogger } from "../native/source-build.js";

interface CliOptions {
  gpu?: string;
  arch?: string;
  jobs?: string;
  tools: boolean;
  bundle?: string;
  dryRun?: boolean;
  force?: boolean;
}

const EXAMPLES = `
Examples:
  flint build-native --gpu cuda --arch 90        # H100/H200, usable on other hosts with the same GPU
  flint build-native --gpu cuda                  # for the GPU in this machine
  flint build-native --gpu hip --arch gfx1151    # AMD Strix Halo
  flint build-native --gpu cpu --jobs 2 --no-tools

Builds llama.cpp ${PINNED.llamaCommit} (the release inside node-llama-cpp@${PINNED.nodeLlamaCpp}) into
$FLINT_CACHE_DIR (default ~/.cache/flint)/llama.cpp and records it in active.json, which flint then
loads in preference to the prebuilt libraries (FLINT_LLAMA_LIB_DIR still overrides both).
The last line on stdout is the library directory.`;

/**
 * In a terminal, compiler progress becomes one rewritten status line and cmake's "-- ..." chatter is
 * hidden (it is all in flint-build.log); anything else (warnings, errors) is printed as it comes.
 * In CI or when stderr is piped, every line is passed through unchanged, so logs stay complete.
 */
export function makeBuildLogger(
  stream: NodeJS.WriteStream = process.stderr,
  live = !!stream.isTTY && !process.env.CI,
): BuildLogger & { done(): void } {
  let status = false;
  const clear = () => {
    if (status) stream.write("\r\x1b[K");
    status = false;
  };
  const println = (line: string) => {
    clear();
    stream.write(line + "\n");
  };
  return {
    info: println,
    output(line) {
      if (!live) return void stream.write(line + "\n");
      const ninja = /^\[\s*(\d+)\/(\d+)\]\s*(.*)$/.exec(line);
      const make = /^\[\s*(\d+)%\]\s*(.*)$/.exec(line);
      if (ninja || make) {
        const pct = ninja ? Math.floor((100 * Number(ninja[1])) / Number(ninja[2])) : Number(make![1]);
        const text = ninja ? `[${ninja[1]}/${ninja[2]}] ${pct}% ${ninja[3]}` : `[${pct}%] ${make![2]}`;
        const width = Math.max(20, (stream.columns || 100) - 1);
        stream.write(`\r\x1b[K${text.length > width ? text.slice(0, width - 1) + "…" : text}`);
        status = true;
      } else if (!/^(-- |CMAKE_BUILD_TYPE=)/.test(line) && line.trim() !== "") {
        println(line);
      }
    },
    done: clear,
  };
}

function parseJobs(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(raw.trim())) throw new UserError(`bad --jobs "${raw}": expected a positive whole number`);
  return Number(raw);
}

function duration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return m > 0 ? `${m}m ${s}s` : `${s}s`;
}

export function registerBuildNative(program: Command): void {
  program
    .command("build-native")
    .description("build llama.cpp from source for this machine's GPU and print the library directory")
    .option("--gpu <backend>", `backend to build: ${GPUS.join(", ")}`)
    .option(
      "--arch <arch>",
      "cuda: compute capability such as 86, 89, 90, 120a (default: the GPU present); " +
        "hip: target such as gfx1100, gfx1151 (required); cpu/vulkan: 'portable' for generic CPU code",
    )
    .option("--jobs <n>", "parallel compile jobs (default: CPU count, limited by memory)")
    .option("--no-tools", "build only libllama, not llama-bench/llama-cli/llama-server/llama-quantize")
    .option("--bundle <file>", "clone llama.cpp from this gitRelease.bundle instead of fetching it with npm")
    .option("--dry-run", "print the commands without running them")
    .option("--force", "rebuild from an empty build directory")
    .addHelpText("after", EXAMPLES)
    .action(async (o: CliOptions, cmd: Command) => {
      const log = makeBuildLogger();
      try {
        const result = await buildNative(
          {
            gpu: o.gpu ?? "",
            arch: o.arch,
            jobs: parseJobs(o.jobs),
            tools: o.tools,
            bundle: o.bundle,
            dryRun: o.dryRun,
            force: o.force,
          },
          log,
        );
        log.done();
        if (result.dryRun) {
          // A runnable script: the steps a real build would take, in order.
          process.stdout.write(result.commands.join("\n") + `\n# libraries would be in ${result.libDir}\n`);
          return;
        }
        const what = `llama.cpp ${result.commit} (${result.gpu}${result.arch ? ` ${result.arch}` : ""})`;
        log.info(result.reused ? `${what} is already built` : `built ${what} in ${duration(result.seconds)}`);
        log.info(`tools: ${result.binDir}`);
        log.info("flint uses this build automatically (recorded in active.json); FLINT_LLAMA_LIB_DIR overrides it.");
        process.stdout.write(result.libDir + "\n");
      } catch (e) {
        log.done();
        if (e instanceof UserError) cmd.error(`error: ${e.message}`, { exitCode: 1, code: "flint.build-native" });
        throw e;
      }
    });
}
