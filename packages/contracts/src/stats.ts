/** `resolution` of `GET /workloads/{id}/stats/{metricName}` (spec §4): ISO 8601 durations. */
export const RESOLUTIONS = ['PT1M', 'PT5M', 'PT1H', 'P1D', 'P7D', 'P1M'] as const;

/** `metricName` of `GET /workloads/{id}/stats/{metricName}`; any other name is a 404 (spec §4). */
export const METRIC_NAMES = ['totalRequests', 'requestsOverN', 'requestsPerMinute', 'concurrentRequests', 'responseTime', 'totalErrorRate'] as const;
