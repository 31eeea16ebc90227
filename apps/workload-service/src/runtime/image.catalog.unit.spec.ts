import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILTIN_IMAGE_CATALOG_DIR, imageRefusal, listImages, resolveImage } from './image.catalog';

describe('image catalog', () => {
  let extra: string;
  let outside: string;

  beforeAll(() => {
    extra = mkdtempSync(join(tmpdir(), 'wcp-catalog-'));
    outside = mkdtempSync(join(tmpdir(), 'wcp-outside-'));
    writeFileSync(join(outside, 'evil.js'), '');
    mkdirSync(join(extra, 'tool'));
    writeFileSync(join(extra, 'tool', 'main.js'), '');
    symlinkSync(join(outside, 'evil.js'), join(extra, 'link.js'));
    writeFileSync(
      join(extra, 'catalog.json'),
      JSON.stringify({
        images: {
          'local/tool:2': { script: 'tool/main.js', acceptsArgs: true },
          'local/escape:1': { script: '../wcp-outside/evil.js' },
          'local/abs:1': { script: join(outside, 'evil.js') },
          'local/link:1': { script: 'link.js' },
          'local/sh:1': { script: '/bin/sh' },
        },
      }),
    );
  });

  afterAll(() => {
    rmSync(extra, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('resolves the shipped images to a script run by the service Node binary', () => {
    expect(resolveImage('local/echo-model:1')).toEqual({
      image: 'local/echo-model:1',
      command: process.execPath,
      args: [join(BUILTIN_IMAGE_CATALOG_DIR, 'echo-model', 'server.js')],
      readinessPath: '/healthz',
    });
    expect(resolveImage('local/never-ready:1')?.args[0]).toBe(join(BUILTIN_IMAGE_CATALOG_DIR, 'never-ready', 'server.js'));
    expect(resolveImage('local/crash-loop:1')).not.toBeNull();
    expect(listImages()).toEqual(expect.arrayContaining(['local/echo-model:1', 'local/never-ready:1', 'local/crash-loop:1']));
  });

  it.each([
    'local/unknown:1',
    'local/echo-model:2',
    'docker.io/library/nginx:latest',
    '/bin/sh',
    'local/../../bin/sh:1',
    'local/echo-model:1; rm -rf /',
    'local/constructor:1',
    'local/__proto__:1',
    '',
  ])('refuses %j', (uri) => {
    expect(resolveImage(uri)).toBeNull();
    expect(imageRefusal(uri)).toEqual(expect.any(String));
  });

  it('never lets an entrypoint choose the program, and passes arguments only where allowed', () => {
    expect(resolveImage('local/echo-model:1', { entrypoint: ['/bin/sh', '-c', 'id'] })).toBeNull();
    expect(imageRefusal('local/echo-model:1', { entrypoint: ['x'] })).toMatch(/does not accept entrypoint arguments/);
    const tool = resolveImage('local/tool:2', { catalogDirs: [extra], entrypoint: ['--mode', 'fast'] });
    expect(tool).toEqual({ image: 'local/tool:2', command: process.execPath, args: [join(extra, 'tool', 'main.js'), '--mode', 'fast'], readinessPath: null });
  });

  it('refuses catalog entries whose script escapes the catalog directory', () => {
    for (const uri of ['local/escape:1', 'local/abs:1', 'local/link:1', 'local/sh:1']) {
      expect(resolveImage(uri, { catalogDirs: [extra] })).toBeNull();
      expect(imageRefusal(uri, { catalogDirs: [extra] })).toMatch(/no runnable script/);
    }
  });
});
