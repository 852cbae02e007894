// The command line the step benchmarks share (plain-step.mjs, draft-step.mjs):
//   TARGET.gguf DRAFTER.gguf [STEPS] [ROUNDS] [--debug] [--cpu]
// loads the pair (on the GPU unless --cpu) and turns on llama.cpp's debug log with --debug.
import { Model } from "../../dist/engine/model.js";
import { setLogLevel } from "../../dist/native/log.js";

export function loadPairFromArgs(argv, defaults) {
  const flags = new Set(argv.filter((a) => a.startsWith("--")));
  const [tPath, dPath, stepsArg, roundsArg] = argv.filter((a) => !a.startsWith("--"));
  if (flags.has("--debug")) setLogLevel("debug");
  const gpuLayers = flags.has("--cpu") ? 0 : -1;
  return {
    tPath,
    dPath,
    steps: Number(stepsArg ?? defaults.steps),
    rounds: Number(roundsArg ?? defaults.rounds),
    onGpu: gpuLayers !== 0,
    target: Model.load(tPath, { gpuLayers }),
    draft: Model.load(dPath, { gpuLayers }),
  };
}
