/**
 * Samples of a Prometheus text exposition, keyed `name{label="value",…}` with labels sorted
 * (`name` alone without labels). Values of a key repeated across several texts (several apps'
 * `/metrics`) are summed. Duplicate `# TYPE` lines within one text are an error: each series is
 * registered once.
 */
export function parsePrometheus(...texts: string[]): Map<string, number> {
  const samples = new Map<string, number>();
  for (const text of texts) {
    const typed = new Set<string>();
    for (const line of text.split('\n')) {
      const type = /^# TYPE (\S+) /.exec(line);
      if (type) {
        if (typed.has(type[1])) throw new Error(`metric ${type[1]} is declared twice`);
        typed.add(type[1]);
      }
      if (line === '' || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
      if (!match) throw new Error(`unreadable sample line: ${line}`);
      const key = seriesKey(match[1], Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]])));
      samples.set(key, (samples.get(key) ?? 0) + Number(match[3]));
    }
  }
  return samples;
}

/** The key `parsePrometheus` files a sample under. */
export function seriesKey(name: string, labels: Record<string, string | number> = {}): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? name : `${name}{${entries.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
}
