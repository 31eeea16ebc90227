export * from './runtime-driver';
export { LocalProcessDriver, replicaName, type LocalProcessDriverOptions } from './local-process.driver';
export { BUILTIN_IMAGE_CATALOG_DIR, imageRefusal, listImages, resolveImage, type ImageCatalogEntry, type ResolvedImage, type ResolveImageOptions } from './image.catalog';
export { aggregateStatus, renderSnapshot } from './proton-status';
export { DEFAULT_BACKOFF, restartDelayMs, type BackoffPolicy } from './restart-backoff';
export { replicaLogFiles, type ReplicaLogOptions } from './replica-log.tailer';
