import { validateMetricName, type Metric, type Registry } from 'prom-client';

/**
 * Counters and histograms for the request path, where an update is a field increment: the
 * caller finds (or keeps) the cell of its label values once, and an observation allocates
 * nothing. prom-client's own `inc(labels)` and `observe(labels, v)` hash the labels into a new
 * string and build objects on every call (about 250 ns each, measured). These are rendered by
 * the prom-client Registry at scrape time, in the shape its own metrics give it.
 */

export type LabelSet = Readonly<Record<string, string>>;

export class CounterCell {
  value = 0;
  constructor(readonly labels: LabelSet) {}

  inc(): void {
    this.value++;
  }
}

export class HistogramCell {
  /** Observations per bucket, not cumulative; the last one is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: LabelSet,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]!) bucket++;
    this.counts[bucket]!++;
    this.sum += value;
    this.count++;
  }
}

/** One sample as the Registry reads it from `get()`. */
interface Sample {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

abstract class CellMetric<Cell> {
  readonly aggregator = 'sum';
  protected readonly cells: Cell[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    registry: Registry,
  ) {
    if (!validateMetricName(name)) throw new Error(`invalid metric name ${name}`);
    // The Registry renders any metric whose get() answers in its shape; its types list only its own classes.
    registry.registerMetric(this as unknown as Metric);
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.samples() };
  }

  protected abstract samples(): Sample[];
  abstract reset(): void;
}

export class CellCounter extends CellMetric<CounterCell> {
  constructor(name: string, help: string, registry: Registry) {
    super(name, help, 'counter', registry);
  }

  /** A new series, shown from now on (at 0 until incremented). */
  cell(labels: LabelSet = {}): CounterCell {
    const cell = new CounterCell(labels);
    this.cells.push(cell);
    return cell;
  }

  protected samples(): Sample[] {
    return this.cells.map((cell) => ({ labels: { ...cell.labels }, value: cell.value }));
  }

  reset(): void {
    for (const cell of this.cells) cell.value = 0;
  }
}

export class CellHistogram extends CellMetric<HistogramCell> {
  constructor(
    name: string,
    help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    super(name, help, 'histogram', registry);
  }

  cell(labels: LabelSet = {}): HistogramCell {
    const cell = new HistogramCell(labels, this.bounds);
    this.cells.push(cell);
    return cell;
  }

  protected samples(): Sample[] {
    const samples: Sample[] = [];
    for (const cell of this.cells) {
      let cumulative = 0;
      this.bounds.forEach((bound, index) => {
        cumulative += cell.counts[index]!;
        samples.push({ metricName: `${this.name}_bucket`, labels: { ...cell.labels, le: bound }, value: cumulative });
      });
      samples.push({ metricName: `${this.name}_bucket`, labels: { ...cell.labels, le: '+Inf' }, value: cell.count });
      samples.push({ metricName: `${this.name}_sum`, labels: { ...cell.labels }, value: cell.sum });
      samples.push({ metricName: `${this.name}_count`, labels: { ...cell.labels }, value: cell.count });
    }
    return samples;
  }

  reset(): void {
    for (const cell of this.cells) {
      cell.counts.fill(0);
      cell.sum = 0;
      cell.count = 0;
    }
  }
}
