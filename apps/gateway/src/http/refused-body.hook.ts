import type { FastifyInstance } from 'fastify';

/**
 * Fastify answers a body over the limit with `connection: close`, and node then destroys the
 * socket while the client is still uploading: the client sees EPIPE/ECONNRESET instead of the
 * 413 (curl shows the answer, fetch often does not). When the declared rest is small, keeping
 * the connection lets node read and drop it, so the caller always gets its `{detail}`; a large
 * or undeclared (chunked) rest is still cut off, since reading it would cost more than the
 * caller's error is worth.
 */
export function keepConnectionForSmallRefusedBodies(fastify: FastifyInstance, maxDrainBytes: number): void {
  fastify.addHook('onSend', async (request, reply) => {
    if (reply.statusCode !== 413 || reply.getHeader('connection') !== 'close') return;
    const declared = Number(request.headers['content-length']);
    if (Number.isSafeInteger(declared) && declared <= maxDrainBytes) reply.removeHeader('connection');
  });
}
