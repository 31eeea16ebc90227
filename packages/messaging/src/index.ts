export * from './in-process.bus';
export * from './kafka.bus';
export * from './message-bus';
export * from './request-reply';
export * from './retry';
export * from './group-commit';
export * from './consumer-lag';
export * from './trace-context';
