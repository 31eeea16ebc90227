export * from './parse-config';
export * from './shutdown';
export * from './quiet.logger';
