// Starts a real `flint serve` child process (dist/cli.js: `npm test` builds it first) on a free port
// and waits until its model is loaded.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

export interface ServeProcess {
  url: string;
  /** the address from the "listening on" line */
  host: string;
  proc: ChildProcess;
  output(): string;
  stop(): Promise<number | null>;
}

const CLI = path.resolve(__dirname, "../../dist/cli.js");

export async function spawnServe(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const proc = spawn(process.execPath, [CLI, "serve", "--port", "0", "--threads", "1", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let out = "";
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /flint: listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    void exited.then((code) => reject(new Error(`flint serve exited (${code}) before listening:\n${out}`)));
  });
  // the model loads after the server listens: wait for /health to say so
  for (;;) {
    const r = await fetch(`${url}/health`).catch(() => undefined);
    if (r?.status === 200) break;
    if (proc.exitCode !== null) throw new Error(`flint serve exited while loading:\n${out}`);
    await new Promise((res) => setTimeout(res, 20));
  }
  return {
    url,
    host: new URL(url).hostname,
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      return exited;
    },
  };
}
