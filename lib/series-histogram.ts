// Owns SeriesHistogram: a latency histogram for hot paths, in the process's prom-client registry under its own
// name, whose observations cost an array increment. prom-client's Histogram hashes the label object on every
// `observe` (1.1-1.3 µs a call measured alone, ~6 µs in a loaded profile: registry/README.md); here the caller
// resolves a label set to its `Series` once (and keeps it: lib/http/metrics.ts caches one per route, method and
// status; ~50 ns a request then), and the cumulative buckets, `_sum` and `_count` are built only when scraped.
// What a scrape shows (names, label order, bucket bounds, `+Inf`, `_sum`, `_count`, series in order of first
// observation) is what a prom-client Histogram fed the same observations shows: series-histogram.test.ts
// compares the two.
import type client from "prom-client";

/** One label set's counts: `counts[i]` observations in (bound[i-1], bound[i]], the last one above every bound. */
export interface Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly counts: Float64Array;
  sum: number;
  count: number;
  /** The reset() generation it was last listed in (-1: never observed); one from before is listed again when observed. */
  generation: number;
}

/** A sample as prom-client's registry formats it (its Histogram's `getForPromString()` values). */
interface Sample {
  labels: Record<string, string | number>;
  sharedLabels: Readonly<Record<string, string>>;
  value: number;
  metricName: string;
  exemplar?: null;
}

export class SeriesHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram";
  /** How prom-client's cluster aggregation merges it (a Histogram's default). */
  readonly aggregator = "sum";
  readonly labelNames: readonly L[];
  readonly #bounds: readonly number[];
  /** The series observed since the last reset, in order of first observation (the order a scrape lists them). */
  #series: Series[] = [];
  /** Every series ever made, by its joined label values: one object per label set for the process's life. */
  readonly #byKey = new Map<string, Series>();
  #generation = 0;

  constructor(options: {
    name: string;
    help: string;
    labelNames: readonly L[];
    buckets: readonly number[];
    registry: client.Registry;
  }) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames;
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
    // prom-client's registry takes any object with a name, get(), reset() (and getForPromString() when
    // present); its types name only its own classes.
    options.registry.registerMetric(this as unknown as client.Metric);
  }

  /** The series of `labels` (made on first use); keep it and pass it to observe(). */
  series(labels: Readonly<Record<L, string>>): Series {
    const key = this.labelNames.map((n) => labels[n]).join("\u0000");
    let s = this.#byKey.get(key);
    if (s === undefined) {
      // Labels in the caller's order, as prom-client keeps them; a fresh object per series (prom-client's
      // registry caches each series' formatted labels by object).
      s = {
        labels: { ...labels },
        counts: new Float64Array(this.#bounds.length + 1),
        sum: 0,
        count: 0,
        generation: -1,
      };
      this.#byKey.set(key, s);
    }
    return s;
  }

  observe(series: Series, value: number): void {
    if (series.generation !== this.#generation) {
      // Listed from its first observation on, as prom-client lists a label set (and again after a reset).
      series.generation = this.#generation;
      this.#series.push(series);
    }
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    (series.counts[i] as number)++;
    series.sum += value;
    series.count++;
  }

  /** What prom-client's registry formats as text. */
  getForPromString(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: Sample[];
  }> {
    const bucketName = `${this.name}_bucket`;
    const values: Sample[] = [];
    for (const s of this.#series) {
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += s.counts[i] as number;
        values.push({
          labels: { le: this.#bounds[i] as number },
          sharedLabels: s.labels,
          value: cumulative,
          metricName: bucketName,
          exemplar: null,
        });
      }
      values.push(
        {
          labels: { le: "+Inf" },
          sharedLabels: s.labels,
          value: s.count,
          metricName: bucketName,
          exemplar: null,
        },
        { labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` },
      );
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }

  /** The same with each sample's labels in one object (prom-client's `get()`, read by getMetricsAsJSON). */
  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: { labels: Record<string, string | number>; value: number; metricName: string; exemplar?: null }[];
  }> {
    const data = await this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ sharedLabels, labels, ...rest }) => ({
        ...rest,
        labels: { ...labels, ...sharedLabels },
      })),
    };
  }

  /** Empties the histogram (prom-client's `registry.resetMetrics()`): a series is listed again, from zero, once observed. */
  reset(): void {
    for (const s of this.#byKey.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
    this.#series = [];
    this.#generation++;
  }
}
