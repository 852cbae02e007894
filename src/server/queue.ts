// One request decodes at a time (a single context, a single KV sequence); the others wait in a
// bounded FIFO. A waiter whose client goes away leaves the queue at once.
import { QueueFullError } from "./errors.js";

interface Waiter {
  grant: (release: () => void) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

/** Thrown to a waiter whose request was aborted before its turn. */
export class AbortedError extends Error {
  override readonly name = "AbortedError";
  constructor() {
    super("the request was cancelled before it started");
  }
}

export class RequestQueue {
  private busy = false;
  private readonly waiters: Waiter[] = [];

  /** @param maxWaiting requests that may wait behind the active one; more are refused (429) */
  constructor(
    private readonly maxWaiting: number,
    /** seconds a client is told to wait when the queue is full */
    private readonly retryAfter: () => number = () => 1,
    private readonly onChange: () => void = () => {},
  ) {}

  get active(): boolean {
    return this.busy;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Waits for this request's turn; resolves to the function that ends it (call it exactly once). */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(new AbortedError());
    if (!this.busy) {
      this.busy = true;
      this.onChange();
      return Promise.resolve(this.releaser());
    }
    if (this.waiters.length >= this.maxWaiting) {
      return Promise.reject(new QueueFullError(`the server is busy: ${this.waiters.length} requests are already waiting (--max-queue ${this.maxWaiting})`, this.retryAfter()));
    }
    return new Promise((grant, reject) => {
      const w: Waiter = {
        grant,
        reject,
        signal,
        onAbort: () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          this.onChange();
          reject(new AbortedError());
        },
      };
      signal.addEventListener("abort", w.onAbort, { once: true });
      this.waiters.push(w);
      this.onChange();
    });
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiters.shift();
      if (next) {
        next.signal.removeEventListener("abort", next.onAbort);
        // the slot passes straight on: nobody can slip in between
        next.grant(this.releaser());
      } else {
        this.busy = false;
      }
      this.onChange();
    };
  }
}
