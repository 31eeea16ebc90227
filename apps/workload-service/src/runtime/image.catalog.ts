import { readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * The operator-owned local image catalog. An artifact's `imageUri` only selects an entry; the
 * program is always `process.execPath` running a script that ships inside a catalog
 * directory, so an API caller can never make the host run a command of their choosing.
 */

/** The catalog shipped with the service: `apps/workload-service/images` (same from src/ and dist/). */
export const BUILTIN_IMAGE_CATALOG_DIR = resolve(__dirname, '..', '..', 'images');

const CATALOG_FILE = 'catalog.json';
const IMAGE_URI = /^local\/[a-z0-9]+(?:[._-][a-z0-9]+)*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface ImageCatalogEntry {
  /** Path of a .js file relative to the catalog directory. */
  script: string;
  /** Whether an artifact's `entrypoint` may pass arguments to the script. */
  acceptsArgs?: boolean;
  description?: string;
  /** The image's own health path, probed for readiness when the container configures none. */
  readinessPath?: string;
}

export interface ResolvedImage {
  image: string;
  command: string;
  args: string[];
  readinessPath: string | null;
}

export interface ResolveImageOptions {
  /** Operator catalogs searched before the built-in one (e.g. from IMAGE_CATALOG_DIR). */
  catalogDirs?: readonly string[];
  /** The container's entrypoint; only passed on as script arguments when the entry allows it. */
  entrypoint?: readonly string[];
  /** The Node binary; defaults to the one running the service. */
  nodePath?: string;
}

type Lookup = { ok: true; resolved: ResolvedImage } | { ok: false; reason: string };

function readCatalog(dir: string): Record<string, ImageCatalogEntry> {
  let raw: string;
  try {
    raw = readFileSync(join(dir, CATALOG_FILE), 'utf8');
  } catch {
    return {};
  }
  const parsed = JSON.parse(raw) as { images?: Record<string, ImageCatalogEntry> };
  return parsed.images && typeof parsed.images === 'object' ? parsed.images : {};
}

/** The script's real path, or null when it is not a regular .js file inside `dir` (no `..`, no symlink escape). */
function scriptInside(dir: string, script: unknown): string | null {
  if (typeof script !== 'string' || !script.endsWith('.js') || isAbsolute(script) || script.split(/[\\/]/).includes('..')) return null;
  try {
    const root = realpathSync(dir);
    const file = realpathSync(resolve(root, script));
    const rel = relative(root, file);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) return null;
    return statSync(file).isFile() ? file : null;
  } catch {
    return null;
  }
}

function lookup(imageUri: string, options: ResolveImageOptions): Lookup {
  if (typeof imageUri !== 'string' || !IMAGE_URI.test(imageUri)) {
    return { ok: false, reason: `image '${String(imageUri).slice(0, 200)}' is not a local catalog image (expected local/<name>:<tag>)` };
  }
  const dirs = [...(options.catalogDirs ?? []), BUILTIN_IMAGE_CATALOG_DIR];
  for (const dir of dirs) {
    const images = readCatalog(dir);
    if (!Object.hasOwn(images, imageUri)) continue;
    const entry = images[imageUri];
    const script = scriptInside(dir, entry?.script);
    if (!script) return { ok: false, reason: `image '${imageUri}' has no runnable script in catalog ${dir}` };
    const entrypoint = options.entrypoint ?? [];
    if (entrypoint.length > 0 && entry.acceptsArgs !== true) {
      return { ok: false, reason: `image '${imageUri}' does not accept entrypoint arguments` };
    }
    const readinessPath = typeof entry.readinessPath === 'string' && entry.readinessPath.startsWith('/') ? entry.readinessPath : null;
    return { ok: true, resolved: { image: imageUri, command: options.nodePath ?? process.execPath, args: [script, ...entrypoint], readinessPath } };
  }
  return { ok: false, reason: `image '${imageUri}' is not in the local image catalog` };
}

/** The command that runs `imageUri`, or null when the catalog refuses it. */
export function resolveImage(imageUri: string, options: ResolveImageOptions = {}): ResolvedImage | null {
  const result = lookup(imageUri, options);
  return result.ok ? result.resolved : null;
}

/** Why `resolveImage` refuses `imageUri` (for error messages and artifact validation), or null when it runs. */
export function imageRefusal(imageUri: string, options: ResolveImageOptions = {}): string | null {
  const result = lookup(imageUri, options);
  return result.ok ? null : result.reason;
}

/** Image names of every catalog, for listing. */
export function listImages(catalogDirs: readonly string[] = []): string[] {
  const names = new Set<string>();
  for (const dir of [...catalogDirs, BUILTIN_IMAGE_CATALOG_DIR]) for (const name of Object.keys(readCatalog(dir))) names.add(name);
  return [...names].sort();
}
