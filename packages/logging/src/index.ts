export * from './log-context';
export * from './redaction';
export * from './logger';
export * from './nest.logger';
export * from './http.logging';
export * from './logging.environment';
