export * from './parse-config';
export * from './shutdown';
