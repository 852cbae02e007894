// Decoding is synchronous FFI, so a generation loop that only awaits microtasks holds the event
// loop for the whole request: Ctrl-C (SIGINT), timers, sockets and test-runner RPC wait until it
// ends. Generators call `eventLoop.turn()` once per step; it yields a real event-loop turn
// (setImmediate) at most every `intervalMs`, which costs well under 0.1% of decode time. One shared
// clock, so back-to-back short generations also give the loop its turns.
import { performance } from "node:perf_hooks";

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class EventLoopTurns {
  private last = performance.now();
  constructor(private readonly intervalMs = 50) {}

  /** resolves after an event-loop turn when `intervalMs` has passed since the last one */
  turn(): Promise<void> | undefined {
    const now = performance.now();
    if (now - this.last < this.intervalMs) return undefined;
    this.last = now;
    return nextTurn();
  }
}

export const eventLoop = new EventLoopTurns();
