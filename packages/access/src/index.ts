export * from './permissions';
export * from './route-policy';
