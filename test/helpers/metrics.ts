import { expect } from 'vitest';
import type { TestApp } from './app.js';

/** The samples of a Prometheus text exposition, by name and labels (in any order). */
export class Scrape {
  constructor(private readonly samples: ReadonlyMap<string, { labels: Record<string, string>; value: number }>) {}

  static parse(text: string): Scrape {
    const samples = new Map<string, { labels: Record<string, string>; value: number }>();
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, name, value] of match[2]?.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g) ?? []) labels[name!] = value!;
      samples.set(seriesKey(match[1]!, labels), { labels, value: Number(match[3]) });
    }
    return new Scrape(samples);
  }

  /** The sample's value; undefined when the series is not exposed. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    return this.samples.get(seriesKey(name, labels))?.value;
  }

  /** Every series of `name`, its labels in the order exposed. */
  series(name: string): Array<{ labels: Record<string, string>; value: number }> {
    const found: Array<{ labels: Record<string, string>; value: number }> = [];
    for (const [key, sample] of this.samples) if ((JSON.parse(key) as [string])[0] === name) found.push(sample);
    return found;
  }
}

function seriesKey(name: string, labels: Record<string, string>): string {
  return JSON.stringify([name, Object.fromEntries(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))]);
}

export async function scrape(t: TestApp): Promise<Scrape> {
  const response = await t.app.inject({ method: 'GET', url: '/metrics' });
  expect(response.statusCode).toBe(200);
  return Scrape.parse(response.body);
}

/**
 * How much each series of `name` moved between two scrapes (series absent before count from 0),
 * keyed by its label values in the order exposed, joined by commas.
 */
export function moved(before: Scrape, after: Scrape, name: string): Record<string, number> {
  const deltas: Record<string, number> = {};
  for (const { labels, value } of after.series(name)) {
    const delta = value - (before.value(name, labels) ?? 0);
    if (delta !== 0) deltas[Object.values(labels).join(',') || '(no labels)'] = delta;
  }
  return deltas;
}
