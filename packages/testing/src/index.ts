export * from './api.client';
export * from './infra';
export * from './processes';
export * from './wait-for';
export * from './prometheus';
export * from './otlp-receiver';
export * from './seeded-random';
