import { z } from 'zod';

/** Probe of a container: an HTTP GET on `path`, healthy on 2xx/3xx. */
export const Probe = z.strictObject({
  path: z.string().min(1).max(1024).regex(/^\//, 'must start with /'),
  port: z.int().min(1).max(65535).nullish(),
  initialDelaySeconds: z.int().min(0).max(3600).default(0),
  periodSeconds: z.int().min(1).max(3600).default(10),
  timeoutSeconds: z.int().min(1).max(600).default(1),
  failureThreshold: z.int().min(1).max(100).default(3),
  successThreshold: z.int().min(1).max(100).default(1),
});
export type Probe = z.infer<typeof Probe>;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const EnvironmentVar = z.strictObject({
  name: z.string().max(256).regex(ENV_NAME, 'must be a valid environment variable name'),
  value: z.string().max(32 * 1024),
});

export const Container = z.strictObject({
  name: z.string().min(1).max(63).regex(NAME, 'must be lowercase alphanumeric or -'),
  primary: z.boolean().default(false),
  imageUri: z.string().min(1).max(512),
  port: z.int().min(1024).max(65535).nullish(),
  entrypoint: z.array(z.string().max(4096)).max(64).default([]),
  environmentVars: z.array(EnvironmentVar).max(256).default([]),
  readinessProbe: Probe.nullish(),
  livenessProbe: Probe.nullish(),
  startupProbe: Probe.nullish(),
});
export type Container = z.infer<typeof Container>;

export const ContainerGroupSpec = z
  .strictObject({
    name: z.string().min(1).max(63).regex(NAME, 'must be lowercase alphanumeric or -'),
    containers: z.array(Container).min(1).max(16),
  })
  .superRefine((group, ctx) => {
    const primaries = group.containers.filter((c) => c.primary);
    if (primaries.length !== 1) {
      ctx.addIssue({ code: 'custom', path: ['containers'], message: `exactly one primary container per group is required, found ${primaries.length}` });
    }
    const seen = new Set<string>();
    group.containers.forEach((c, i) => {
      if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: ['containers', i, 'name'], message: `duplicate container name '${c.name}'` });
      seen.add(c.name);
      if (!c.primary && c.port != null) ctx.addIssue({ code: 'custom', path: ['containers', i, 'port'], message: 'only the primary container has a port' });
      if (c.primary && c.port == null) ctx.addIssue({ code: 'custom', path: ['containers', i, 'port'], message: 'the primary container needs a port (1024..65535)' });
    });
  });

export const ArtifactSpec = z
  .strictObject({ containerGroups: z.array(ContainerGroupSpec).min(1).max(8) })
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    spec.containerGroups.forEach((g, i) => {
      if (seen.has(g.name)) ctx.addIssue({ code: 'custom', path: ['containerGroups', i, 'name'], message: `duplicate group name '${g.name}'` });
      seen.add(g.name);
    });
  });
export type ArtifactSpec = z.infer<typeof ArtifactSpec>;

/** Body of `POST /artifacts` and the inline `artifact` of `POST /workloads`. */
export const InputArtifact = z.strictObject({
  name: z.string().trim().min(1).max(256),
  description: z.string().max(4096).nullish(),
  type: z.literal('service').default('service'),
  artifactRepositoryId: z.string().max(256).nullish(),
  spec: ArtifactSpec,
});
export type InputArtifact = z.infer<typeof InputArtifact>;

export const PatchArtifactBody = z.strictObject({
  name: z.string().trim().min(1).max(256).optional(),
  description: z.string().max(4096).nullish(),
  status: z.literal('locked').optional(),
});
export type PatchArtifactBody = z.infer<typeof PatchArtifactBody>;

export const ArtifactStatus = z.enum(['draft', 'locked']);
export type ArtifactStatus = z.infer<typeof ArtifactStatus>;
