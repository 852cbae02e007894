// The request queue: one active request, FIFO waiters, a bound, and waiters that leave on abort.
import { describe, expect, it } from "vitest";
import { QueueFullError } from "../../src/server/errors.js";
import { AbortedError, RequestQueue } from "../../src/server/queue.js";

const signal = () => new AbortController().signal;

describe("RequestQueue", () => {
  it("grants one at a time in arrival order", async () => {
    const q = new RequestQueue(4);
    const order: number[] = [];
    const r0 = await q.acquire(signal());
    const waits = [1, 2, 3].map((i) => q.acquire(signal()).then((release) => (order.push(i), release)));
    expect(q.waiting).toBe(3);
    r0();
    (await waits[0])();
    (await waits[1])();
    (await waits[2])();
    expect(order).toEqual([1, 2, 3]);
    expect(q.active).toBe(false);
  });

  it("refuses with a retry hint beyond the bound", async () => {
    const q = new RequestQueue(1, () => 7);
    const r0 = await q.acquire(signal());
    const w = q.acquire(signal());
    const err = await q.acquire(signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueFullError);
    expect((err as QueueFullError).status).toBe(429);
    expect((err as QueueFullError).retryAfterSeconds).toBe(7);
    r0();
    (await w)();
  });

  it("drops a waiter whose request is aborted and passes the turn on", async () => {
    const q = new RequestQueue(4);
    const r0 = await q.acquire(signal());
    const ac = new AbortController();
    const gone = q.acquire(ac.signal).catch((e: unknown) => e);
    const next = q.acquire(signal());
    ac.abort();
    expect(await gone).toBeInstanceOf(AbortedError);
    expect(q.waiting).toBe(1);
    r0();
    const r2 = await next;
    expect(q.active).toBe(true);
    r2();
    r2(); // a second release is a no-op
    expect(q.active).toBe(false);
    await expect(q.acquire(ac.signal)).rejects.toBeInstanceOf(AbortedError);
  });
});
