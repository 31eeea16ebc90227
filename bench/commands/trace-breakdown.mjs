// TRACE_BREAKDOWN=1 for bench/commands/run.mjs: a stand-in OTLP/HTTP collector the apps export
// their spans to, and, for the concurrency-1 PATCH phase, the median start and duration of each
// span relative to the gateway's HTTP span: where a command's milliseconds go, hop by hop.
// Tracing costs a little per span, so the run's own figures are a bit slower than without it.
import { createServer } from 'node:http';
import { gunzipSync } from 'node:zlib';

export async function startTraceCollector() {
  const spans = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      try {
        for (const rs of JSON.parse(body.toString('utf8')).resourceSpans ?? []) {
          const service = (rs.resource?.attributes ?? []).find((a) => a.key === 'service.name')?.value?.stringValue ?? '';
          for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) spans.push({ name: `${service}: ${s.name}`, trace: s.traceId, start: Number(BigInt(s.startTimeUnixNano)) / 1e6, end: Number(BigInt(s.endTimeUnixNano)) / 1e6 });
        }
      } catch {}
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${server.address().port}` },
    mark: () => spans.length,
    /** Lines of `span  start +x ms  took y ms` for the traces rooted at a PATCH since `from`. */
    breakdown(from) {
      const traces = new Map();
      for (const s of spans.slice(from)) traces.set(s.trace, [...(traces.get(s.trace) ?? []), s]);
      const rows = new Map();
      for (const list of traces.values()) {
        const root = list.find((s) => s.name.startsWith('gateway: PATCH'));
        if (!root) continue;
        for (const s of list) {
          const row = rows.get(s.name) ?? { at: [], took: [] };
          row.at.push(s.start - root.start);
          row.took.push(s.end - s.start);
          rows.set(s.name, row);
        }
      }
      const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      return [...rows].sort((a, b) => median(a[1].at) - median(b[1].at)).map(([name, r]) => `${name.padEnd(58)} start +${median(r.at).toFixed(2)} ms  took ${median(r.took).toFixed(2)} ms  (${r.at.length})`);
    },
    close: () => new Promise((r) => server.close(r)),
  };
}
