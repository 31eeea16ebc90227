export * from './tracing';
export * from './propagation';
export * from './spans';
export * from './tracing.environment';
export * from './http.tracing';
