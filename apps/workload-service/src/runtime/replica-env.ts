/** Environment names a caller may not set: they would let an artifact steer the Node binary or the loader. */
const RESERVED_ENV = /^(NODE_|LD_|DYLD_|UV_|WCP_)|^(PORT|HOST|REPLICA_NAME)$/;

/**
 * Environment of a replica process, lowest precedence first. Names that steer the Node
 * binary, the dynamic loader or the runtime's own markers are dropped from what an artifact
 * or the service passes, so an API caller cannot make the host run code of their choosing.
 */
export function replicaEnv(
  base: Record<string, string>,
  protonEnv: Record<string, string>,
  containerEnv: ReadonlyArray<{ name: string; value: string }>,
  runtime: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = { ...base };
  for (const [name, value] of Object.entries(protonEnv)) if (!RESERVED_ENV.test(name)) env[name] = value;
  for (const v of containerEnv) if (!RESERVED_ENV.test(v.name)) env[v.name] = v.value;
  return { ...env, ...runtime };
}
