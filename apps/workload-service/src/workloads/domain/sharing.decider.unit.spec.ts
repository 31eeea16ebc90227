import type { Actor } from '@wcp/contracts';
import { decideShareRoles, ResolvedRecipient } from './sharing.decider';
import { decideStop, decideUpdate, evolveWorkload, initialWorkloadState, WorkloadState } from './workload.decider';
import type { WorkloadEvent } from './workload.events';

const actor = (id: string, extra: Partial<Actor> = {}): Actor => ({ id, username: `u-${id.slice(0, 2)}`, isAdmin: false, groupIds: [], orgId: null, ...extra });
const owner = actor('a'.repeat(24));
const bob = actor('b'.repeat(24));
const G = 'c'.repeat(24);
const O = 'd'.repeat(24);
const W = 'e'.repeat(24);

const created: WorkloadEvent = {
  type: 'workload.created',
  schemaVersion: 1,
  data: { workloadId: W, name: 'w', description: null, importance: 'low', artifactId: 'f'.repeat(24), runtime: { containerGroups: [] }, tags: [], creator: { id: owner.id, username: owner.username }, createdAt: '2026-12-02T10:00:00.000Z' },
};
const given = (...events: WorkloadEvent[]): WorkloadState => events.reduce(evolveWorkload, initialWorkloadState);
const ownerEntry: ResolvedRecipient = { id: owner.id, name: owner.username, shareRecipientType: 'user', role: 'OWNER' };
const bobAs = (role: ResolvedRecipient['role']): ResolvedRecipient => ({ id: bob.id, name: bob.username, shareRecipientType: 'user', role });

function applied(state: WorkloadState, by: Actor, recipients: ResolvedRecipient[]): WorkloadState {
  const decision = decideShareRoles(state, by, W, recipients);
  if ('code' in decision) throw new Error(decision.message);
  return decision.events.reduce(evolveWorkload, state);
}

describe('sharing decider', () => {
  it('replaces the whole list, records before and after with the actor, and drops NO_ROLE recipients', () => {
    const decision = decideShareRoles(given(created), owner, W, [ownerEntry, bobAs('USER'), { id: G, name: 'team', shareRecipientType: 'group', role: 'CONSUMER' }]);
    expect(decision).toEqual({
      events: [
        {
          type: 'workload.shared-roles-updated',
          schemaVersion: 1,
          data: {
            before: [ownerEntry],
            after: [ownerEntry, { ...bobAs('USER'), role: 'USER' }, { id: G, name: 'team', shareRecipientType: 'group', role: 'CONSUMER' }],
            updatedBy: { id: owner.id, username: owner.username },
          },
        },
      ],
      result: { accepted: true, message: 'Shared roles updated.' },
    });
    const shared = applied(given(created), owner, [ownerEntry, bobAs('USER')]);
    const removed = applied(shared, owner, [ownerEntry, bobAs('NO_ROLE')]);
    expect(removed).toMatchObject({ sharedRoles: [ownerEntry], roles: { [owner.id]: 'OWNER' } });
    expect(decideShareRoles(removed, owner, W, [ownerEntry])).toEqual({ events: [], result: { accepted: false, message: 'Shared roles unchanged.' } });
  });

  it('needs CAN_SHARE: a stranger gets 404, a USER 403, an owner through a group or organization may share', () => {
    const shared = applied(given(created), owner, [ownerEntry, bobAs('USER'), { id: O, name: 'org', shareRecipientType: 'organization', role: 'OWNER' }]);
    expect(decideShareRoles(shared, actor('9'.repeat(24)), W, [ownerEntry])).toMatchObject({ kind: 'not_found', code: 'WORKLOAD_NOT_FOUND' });
    expect(decideShareRoles(shared, bob, W, [ownerEntry])).toMatchObject({ kind: 'forbidden', message: expect.stringContaining('CAN_SHARE') });
    expect(decideShareRoles(shared, actor('9'.repeat(24), { orgId: O }), W, [ownerEntry])).toMatchObject({ result: { accepted: true } });
  });

  it('refuses a list without an OWNER and the same recipient twice, pointing at the entry', () => {
    expect(decideShareRoles(given(created), owner, W, [bobAs('USER')])).toMatchObject({ kind: 'validation', code: 'OWNER_REQUIRED', loc: ['body', 'roles'] });
    expect(decideShareRoles(given(created), owner, W, [{ ...ownerEntry, role: 'NO_ROLE' }, bobAs('OWNER')])).toMatchObject({ result: { accepted: true } });
    expect(decideShareRoles(given(created), owner, W, [ownerEntry, bobAs('USER'), bobAs('CONSUMER')])).toMatchObject({ kind: 'validation', code: 'DUPLICATE_RECIPIENT', loc: ['body', 'roles', 2] });
  });

  it('reports an unknown recipient only to a caller allowed to share', () => {
    const unknown = { kind: 'not_found' as const, code: 'GROUP_NOT_FOUND', message: `Group ${G} was not found.` };
    expect(decideShareRoles(given(created), owner, W, unknown)).toBe(unknown);
    expect(decideShareRoles(given(created), bob, W, unknown)).toMatchObject({ code: 'WORKLOAD_NOT_FOUND' });
  });

  it('a command decided after a share is removed is refused, whatever the caller was allowed before', () => {
    const shared = applied(given(created), owner, [ownerEntry, bobAs('OWNER')]);
    expect(decideStop(shared, bob, W)).toMatchObject({ result: { accepted: false } });
    const revoked = applied(shared, owner, [ownerEntry]);
    expect(decideStop(revoked, bob, W)).toMatchObject({ kind: 'not_found', code: 'WORKLOAD_NOT_FOUND' });
    const demoted = applied(shared, owner, [ownerEntry, bobAs('CONSUMER')]);
    expect(decideUpdate(demoted, bob, W, { name: 'x' })).toMatchObject({ kind: 'forbidden', message: expect.stringContaining('CAN_UPDATE') });
  });
});
