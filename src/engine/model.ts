// A loaded GGUF model: metadata, vocabulary and the factory for its contexts.
import { NativeModel, type ModelLoadOptions } from "../native/model.js";
import { Vocab } from "./vocab.js";

export type { ModelLoadOptions };

export interface ModelInfo {
  path: string;
  architecture: string;
  description: string;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  nCtxTrain: number;
  nParams: number;
  sizeBytes: number;
  ftype: string;
  nVocab: number;
  isRecurrent: boolean;
  isHybrid: boolean;
  hasChatTemplate: boolean;
}

export class Model {
  readonly native: NativeModel;
  readonly vocab: Vocab;
  readonly info: ModelInfo;
  private freed = false;

  private constructor(native: NativeModel) {
    this.native = native;
    this.vocab = new Vocab(native);
    const i = native.info();
    this.info = {
      path: native.path,
      architecture: native.meta("general.architecture") ?? "unknown",
      description: i.description,
      nEmbd: i.nEmbd,
      nLayer: i.nLayer,
      nHead: i.nHead,
      nHeadKv: i.nHeadKv,
      nCtxTrain: i.nCtxTrain,
      nParams: i.nParams,
      sizeBytes: i.sizeBytes,
      ftype: i.ftype,
      nVocab: this.vocab.size,
      isRecurrent: i.isRecurrent,
      isHybrid: i.isHybrid,
      hasChatTemplate: native.chatTemplate() !== undefined,
    };
  }

  static load(path: string, opts: ModelLoadOptions = {}): Model {
    return new Model(NativeModel.load(path, checkLoadOptions(opts)));
  }

  /** load() without blocking the event loop while the weights are read */
  static async loadAsync(path: string, opts: ModelLoadOptions = {}): Promise<Model> {
    return new Model(await NativeModel.loadAsync(path, checkLoadOptions(opts)));
  }

  meta(key: string): string | undefined {
    return this.native.meta(key);
  }

  chatTemplate(): string | undefined {
    return this.native.chatTemplate();
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.native.free();
  }
}

function checkLoadOptions(opts: ModelLoadOptions): ModelLoadOptions {
  if (opts.gpuLayers !== undefined && (!Number.isInteger(opts.gpuLayers) || opts.gpuLayers < -1)) {
    throw new RangeError(`gpu layers must be an integer >= -1 (-1 = all), got ${opts.gpuLayers}`);
  }
  return opts;
}
