// Prometheus metrics. Names follow llama-server's where one exists (dashboards built for it work
// unchanged); flint's own are prefixed flint_. One registry per server, so tests can run several.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { FinishReason } from "./types.js";

export interface RequestRecord {
  /** prompt tokens prefilled (not taken from the prefix cache) */
  promptProcessed: number;
  cachedTokens: number;
  promptMs: number;
  completionTokens: number;
  decodeMs: number;
  draftTokens: number;
  acceptedTokens: number;
  finishReason: FinishReason;
  durationMs: number;
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly promptTokens: Counter;
  private readonly promptSeconds: Counter;
  private readonly predictedTokens: Counter;
  private readonly predictedSeconds: Counter;
  private readonly draftTokens: Counter;
  private readonly acceptedTokens: Counter;
  private readonly cacheHitTokens: Counter;
  private readonly slotOps: Counter;
  private readonly rejections: Counter;
  private readonly finished: Counter;
  private readonly errors: Counter;
  private readonly duration: Histogram;
  private readonly processing: Gauge;
  private readonly deferred: Gauge;
  private sums = { promptTokens: 0, promptMs: 0, predicted: 0, predictedMs: 0 };

  constructor() {
    const registers = [this.registry];
    this.promptTokens = new Counter({ name: "llamacpp:prompt_tokens_total", help: "Number of prompt tokens processed.", registers });
    this.promptSeconds = new Counter({ name: "llamacpp:prompt_seconds_total", help: "Prompt process time", registers });
    this.predictedTokens = new Counter({ name: "llamacpp:tokens_predicted_total", help: "Number of generation tokens processed.", registers });
    this.predictedSeconds = new Counter({ name: "llamacpp:tokens_predicted_seconds_total", help: "Predict process time", registers });
    const sums = () => this.sums;
    new Gauge({
      name: "llamacpp:prompt_tokens_seconds",
      help: "Average prompt throughput in tokens/s.",
      registers,
      collect() {
        const s = sums();
        this.set(s.promptMs > 0 ? (s.promptTokens * 1000) / s.promptMs : 0);
      },
    });
    new Gauge({
      name: "llamacpp:predicted_tokens_seconds",
      help: "Average generation throughput in tokens/s.",
      registers,
      collect() {
        const s = sums();
        this.set(s.predictedMs > 0 ? (s.predicted * 1000) / s.predictedMs : 0);
      },
    });
    this.processing = new Gauge({ name: "llamacpp:requests_processing", help: "Number of requests processing.", registers });
    this.deferred = new Gauge({ name: "llamacpp:requests_deferred", help: "Number of requests deferred.", registers });
    this.draftTokens = new Counter({ name: "llamacpp:spec_decode_num_draft_tokens_total", help: "Number of drafted tokens sent to verify.", registers });
    this.acceptedTokens = new Counter({ name: "llamacpp:spec_decode_num_accepted_tokens_total", help: "Number of drafted tokens accepted.", registers });
    this.cacheHitTokens = new Counter({ name: "flint_prefix_cache_hit_tokens_total", help: "Prompt tokens whose KV came from the prefix cache.", registers });
    this.slotOps = new Counter({ name: "flint_prefix_cache_slot_ops_total", help: "Host-memory prefix cache slot saves and restores.", labelNames: ["op"], registers });
    this.rejections = new Counter({ name: "flint_queue_rejections_total", help: "Requests refused because the queue was full.", registers });
    this.finished = new Counter({ name: "flint_requests_finished_total", help: "Requests that ran, by finish reason.", labelNames: ["reason"], registers });
    this.errors = new Counter({ name: "flint_request_errors_total", help: "Requests that failed inside generation (500).", registers });
    this.duration = new Histogram({
      name: "flint_request_duration_seconds",
      help: "Time from a request's turn in the queue to its last token.",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
  }

  setQueue(active: boolean, waiting: number): void {
    this.processing.set(active ? 1 : 0);
    this.deferred.set(waiting);
  }

  rejected(): void {
    this.rejections.inc();
  }

  slot(op: "save" | "restore"): void {
    this.slotOps.inc({ op });
  }

  failed(): void {
    this.errors.inc();
  }

  request(r: RequestRecord): void {
    this.promptTokens.inc(r.promptProcessed);
    this.promptSeconds.inc(r.promptMs / 1000);
    this.predictedTokens.inc(r.completionTokens);
    this.predictedSeconds.inc(r.decodeMs / 1000);
    this.cacheHitTokens.inc(r.cachedTokens);
    this.draftTokens.inc(r.draftTokens);
    this.acceptedTokens.inc(r.acceptedTokens);
    this.finished.inc({ reason: r.finishReason });
    this.duration.observe(r.durationMs / 1000);
    this.sums.promptTokens += r.promptProcessed;
    this.sums.promptMs += r.promptMs;
    this.sums.predicted += r.completionTokens;
    this.sums.predictedMs += r.decodeMs;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
