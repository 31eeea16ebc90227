export * from './registry';
export * from './bounded-label';
export * from './http.metrics';
export * from './consumer-lag.metrics';
