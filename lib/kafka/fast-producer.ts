// The client's producer with our Produce request encoder (produce-request.ts) in place of its own. The
// client looks each API up by name through `kGetApi` (public in @platformatic/kafka) and calls it with the
// messages it serialized and partitioned, its idempotent sequences and its transaction: only the encoding of
// that request changes; the client's response parser, retries and producer-state handling stay.
import {
  createAPI,
  kGetApi,
  Producer,
  produceV9,
  produceV10,
  produceV11,
  Writer,
  type API,
  type Callback,
  type ProducerOptions,
} from "@platformatic/kafka";
import { encodeProduceRequest, type RecordBatchOptions, type RecordMessage } from "./produce-request.ts";

type ClientOptions = RecordBatchOptions & { compression?: string };

const parsers = {
  9: produceV9.parseResponse,
  10: produceV10.parseResponse,
  11: produceV11.parseResponse,
} as const;

const fastApis = new Map<number, unknown>();

function fastProduceApi(version: number): unknown {
  const parse = parsers[version as keyof typeof parsers];
  if (!parse) return undefined;
  let api = fastApis.get(version);
  if (!api) {
    const request = (
      acks = 1,
      timeout = 0,
      messages: RecordMessage[],
      options: ClientOptions = {},
    ): Writer => {
      if (options.compression !== undefined && options.compression !== "none") {
        throw new Error(
          `lib/kafka writes uncompressed record batches; compression "${options.compression}" is not served`,
        );
      }
      const writer = Writer.create().append(encodeProduceRequest(acks, timeout, messages, options));
      if (acks === 0) writer.context.noResponse = true;
      return writer;
    };
    api = createAPI(0, version, request, parse);
    fastApis.set(version, api);
  }
  return api;
}

export class FastProducer<K, V, HK, HV> extends Producer<K, V, HK, HV> {
  constructor(options: ProducerOptions<K, V, HK, HV>) {
    super(options);
  }

  override [kGetApi]<A extends unknown[], R>(name: string, callback: Callback<API<A, R>>): void {
    if (name !== "Produce") return super[kGetApi](name, callback);
    // The version the broker and the client agreed on; ours when it is one we write.
    super[kGetApi]<A, R>(name, (error, api) => {
      if (error || !api) return callback(error);
      callback(null, (fastProduceApi(api.version) as API<A, R> | undefined) ?? api);
    });
  }
}
