import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ConcurrencySample, Topics } from '@wcp/contracts';
import { BusMessage, HandlerOutcome, MESSAGE_BUS, MessageBus, ok, Subscription } from '@wcp/messaging';
import { sampled } from '@wcp/metrics';
import { randomUUID } from 'node:crypto';
import { capacityLimits, CONFIG, WorkloadServiceConfig } from '../../config';
import type { CommitListener } from '../../event-store/commit.pipeline';
import type { Commit } from '../../event-store/event-store';
import { READ_MODEL_STORE, ReadModelStore } from '../../read-models/read-model-store';
import { REPLACEMENTS, ReplacementDoc } from '../../rollouts/projections/replacement.projection';
import { isOver } from '../../rollouts/domain/replacement.decider';
import { RUNTIME_DRIVER, RuntimeDriver } from '../../runtime';
import { AutoscalerOptions, AutoscalerState, AutoscalingSettings, decideScale, ScaleSample } from '../domain/autoscale-decision';
import { autoscalingOf, replicasOf } from '../domain/proton-spec';
import { heldReplicas, holdingOf, runtimeCapacityRefusal, sumHoldings } from '../domain/runtime-capacity';
import { heldCapacity } from '../queries/runtime-capacity.query';
import { PROTONS, ProtonDoc } from '../projections/proton.projection';
import { WORKLOADS, WorkloadDoc } from '../projections/workload.projection';
import { ScaleProtonCommand } from '../commands/scale-proton/scale-proton.command';
import { autoscalerDecisions } from '../../messaging/service.metrics';
import type { ScaleProtonResult } from '../commands/scale-proton/scale-proton.handler';

/** A gateway's newest sample stops counting after this long without a newer one (the gateway died) (ms). */
const STALE_SAMPLE_MS = 10_000;
/** The set of autoscaled protons is re-read at least this often, besides after each workload commit (ms). */
const REFRESH_MS = 5_000;

/** One proton the autoscaler evaluates. */
interface Target {
  workloadId: string;
  protonId: string;
  settings: AutoscalingSettings;
  /** The runtime the proton runs (the candidate's own during a replacement). */
  runtime: WorkloadDoc['runtime'];
  /** CPU allocated per replica (cores), for cpuAverageUtilization. */
  cpuPerReplica: number;
  /** During a rollout: the rollout's own count of the candidate, below which the autoscaler never goes. */
  floor: number | null;
  /** The count the stream knows now, when the autoscaler starts following the proton. */
  initialDesired: number;
}

interface Tracked {
  state: AutoscalerState;
  samples: ScaleSample[];
  /** Last CPU reading per replica (pid and cumulative seconds at a wall-clock time). */
  cpu: Map<string, { pid: number; cpuSeconds: number; at: number }>;
  chain: Promise<void>;
  /** An evaluation is waiting in `chain`; `fresh`: it must read the gauges now (a sample arrived since the tick). */
  queued: boolean;
  fresh: boolean;
}

/**
 * The autoscaling loop (docs/autoscaling.md), one per workload-service instance, for the
 * protons this instance's runtime runs:
 *
 * 1. Consumes `workload.concurrency.v1` in its own consumer group from the latest offset
 *    (samples are gauges: old ones are worthless), keeping the newest sample per (gateway, proton).
 * 2. Every AUTOSCALER_TICK_MS, per autoscaled proton of a running workload (the active proton, or
 *    the candidate during a replacement, never the outgoing one): one window sample — the
 *    gateways' in-flight requests summed, and the replicas' CPU from the runtime.
 * 3. Asks `decideScale` (pure) for the count; a change goes through ScaleProtonCommand into the
 *    workload stream as Proton Scaled, and the sagas make the runtime follow once it is stored.
 * A sample that shows requests for a proton at zero is evaluated at once, not at the next tick.
 *
 * What lives here is soft state (windows, panic, cooldown): after a restart the count resumes
 * from the stream, and scale-downs wait one stable window of fresh samples.
 */
@Injectable()
export class AutoscalerSaga implements CommitListener {
  private readonly logger = new Logger('Autoscaler');
  /** protonId → gatewayId → newest sample and when it arrived (local clock). */
  private readonly gauges = new Map<string, Map<string, { sample: ConcurrencySample; receivedAt: number }>>();
  private readonly tracked = new Map<string, Tracked>();
  private targets = new Map<string, Target>();
  private dirty = true;
  private refreshedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private subscription: Subscription | null = null;
  private subscribing: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly options: AutoscalerOptions;
  private unsample: () => void = () => undefined;

  constructor(
    @Inject(RUNTIME_DRIVER) private readonly driver: RuntimeDriver,
    @Inject(READ_MODEL_STORE) private readonly readModels: ReadModelStore,
    @Inject(CONFIG) private readonly config: WorkloadServiceConfig,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly commands: CommandBus,
  ) {
    this.options = {
      stableWindowMs: config.AUTOSCALER_STABLE_WINDOW_MS,
      panicWindowMs: config.AUTOSCALER_PANIC_WINDOW_MS,
      panicThreshold: config.AUTOSCALER_PANIC_THRESHOLD,
      defaultCooldownMinutes: config.AUTOSCALER_DEFAULT_COOLDOWN_MINUTES,
    };
  }

  /**
   * Starts ticking at once and subscribes in the background: the service serves without its
   * autoscaler inputs (counts stay as they are; CPU still works) until the subscription is up,
   * and a broker that is slow to host the topic never fails the boot.
   */
  async start(): Promise<void> {
    this.unsample = sampled('gauge', 'wcp_autoscaler_protons', 'Autoscaled protons this instance follows (running workloads whose proton its runtime runs).', [], (add) => add({}, this.targets.size));
    this.timer = setInterval(() => void this.tick(), this.config.AUTOSCALER_TICK_MS);
    this.timer.unref();
    this.subscribing = this.subscribe();
    await Promise.race([this.subscribing, new Promise((r) => setTimeout(r, 5000).unref())]);
  }

  private async subscribe(): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        const subscription = await this.bus.subscribe({
          topic: Topics.concurrency,
          // Every instance sees every gateway's samples; none resumes old ones.
          groupId: `autoscaler-${randomUUID()}`,
          fromBeginning: false,
          handleBatch: async (messages) => messages.map((m) => this.onSample(m)),
        });
        if (this.stopped) await subscription.stop();
        else this.subscription = subscription;
        return;
      } catch (error) {
        this.logger.warn(`subscribing to ${Topics.concurrency} failed (attempt ${attempt}), retrying: ${error instanceof Error ? error.message : error}`);
        await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * attempt)));
      }
    }
  }

  committed(commit: Commit): void {
    if (commit.streamId.startsWith('workload-') || commit.streamId.startsWith('replacement-')) this.dirty = true;
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    this.unsample();
    if (this.timer) clearInterval(this.timer);
    await this.subscribing;
    await this.subscription?.stop();
    await Promise.allSettled([...this.tracked.values()].map((t) => t.chain));
  }

  /** Step 1: keep the newest sample per (gateway, proton); an unreadable one is skipped (a gauge, at most once). */
  private onSample(message: BusMessage): HandlerOutcome {
    const parsed = ConcurrencySample.safeParse(message.value);
    if (!parsed.success) return { kind: 'skip', reason: `not a concurrency sample: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
    const sample = parsed.data;
    let perGateway = this.gauges.get(sample.protonId);
    if (!perGateway) {
      perGateway = new Map();
      this.gauges.set(sample.protonId, perGateway);
    }
    const previous = perGateway.get(sample.gatewayId);
    if (previous && previous.sample.at > sample.at) return { kind: 'skip', reason: 'older than the sample kept' };
    perGateway.set(sample.gatewayId, { sample, receivedAt: Date.now() });
    // A cold start waits for nobody: evaluate a proton at zero as soon as requests show up.
    const tracked = this.tracked.get(sample.protonId);
    const target = this.targets.get(sample.protonId);
    if (tracked && target && tracked.state.desired === 0 && (sample.held > 0 || sample.averageInFlight > 0)) this.enqueue(target, tracked, true);
    return ok;
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.ticking) return;
    this.ticking = true;
    try {
      if (this.dirty || Date.now() - this.refreshedAt >= REFRESH_MS) await this.refresh();
      const cpu = this.driver.cpuUsage?.([...this.targets.keys()]) ?? new Map();
      const now = Date.now();
      for (const target of this.targets.values()) {
        const tracked = this.track(target, now);
        tracked.samples.push(this.sampleOf(target, tracked, cpu.get(target.protonId) ?? null, now));
        const oldest = now - this.options.stableWindowMs;
        while (tracked.samples.length > 0 && tracked.samples[0].at <= oldest) tracked.samples.shift();
        this.enqueue(target, tracked);
      }
    } catch (error) {
      this.logger.warn(`tick failed: ${error instanceof Error ? error.message : error}`);
    } finally {
      this.ticking = false;
    }
  }

  /** The autoscaled protons of running workloads that this instance's runtime runs. */
  private async refresh(): Promise<void> {
    this.dirty = false;
    this.refreshedAt = Date.now();
    const next = new Map<string, Target>();
    for (const w of await this.readModels.find<WorkloadDoc>(WORKLOADS, { status: 'running' })) {
      if (!w.protonId) continue;
      const target = w.replacementLock ? await this.candidateOf(w, w.replacementLock) : await this.activeOf(w, w.protonId);
      if (target && this.driver.snapshot(target.protonId)) next.set(target.protonId, target);
    }
    for (const id of this.tracked.keys()) if (!next.has(id)) this.tracked.delete(id);
    for (const id of this.gauges.keys()) if (!next.has(id) && !this.recent(id)) this.gauges.delete(id);
    this.targets = next;
  }

  private async activeOf(w: WorkloadDoc, protonId: string): Promise<Target | null> {
    const settings = autoscalingOf(w.runtime);
    if (!settings) return null;
    const proton = await this.readModels.get<ProtonDoc>(PROTONS, protonId);
    return { workloadId: w._id, protonId, settings, runtime: w.runtime, cpuPerReplica: cpuOf(w.runtime), floor: null, initialDesired: proton?.scale?.desired ?? replicasOf(w.runtime) };
  }

  /** During a replacement only its candidate scales, by the candidate's own policy, never below the rollout's count. */
  private async candidateOf(w: WorkloadDoc, replacementId: string): Promise<Target | null> {
    const doc = await this.readModels.get<ReplacementDoc>(REPLACEMENTS, replacementId);
    const s = doc?.state;
    if (!s || s.kind !== 'present' || isOver(s) || s.rolledBack || s.phase === 'rollback') return null;
    const settings = autoscalingOf(s.runtime);
    if (!settings) return null;
    const proton = await this.readModels.get<ProtonDoc>(PROTONS, s.candidateProtonId);
    return {
      workloadId: w._id,
      protonId: s.candidateProtonId,
      settings,
      runtime: s.runtime,
      cpuPerReplica: cpuOf(s.runtime),
      floor: s.candidateDesired,
      initialDesired: Math.max(s.candidateDesired, proton?.scale?.desired ?? 0),
    };
  }

  private track(target: Target, now: number): Tracked {
    let t = this.tracked.get(target.protonId);
    if (!t) {
      t = { state: { desired: target.initialDesired, panicUntil: null, lastScaleDownAt: null, observingSince: now }, samples: [], cpu: new Map(), chain: Promise.resolve(), queued: false, fresh: false };
      this.tracked.set(target.protonId, t);
    }
    return t;
  }

  /** Step 2: this tick's window sample of one proton. */
  private sampleOf(target: Target, tracked: Tracked, cpu: Array<{ replica: string; pid: number; cpuSeconds: number }> | null, now: number): ScaleSample {
    let concurrency = 0;
    let held = 0;
    for (const { sample, receivedAt } of this.gauges.get(target.protonId)?.values() ?? []) {
      if (now - receivedAt > STALE_SAMPLE_MS) continue;
      concurrency += sample.averageInFlight;
      held += sample.held;
    }
    let cpuPercent: number | null = null;
    const seen = new Map<string, { pid: number; cpuSeconds: number; at: number }>();
    for (const r of cpu ?? []) {
      seen.set(r.replica, { pid: r.pid, cpuSeconds: r.cpuSeconds, at: now });
      const before = tracked.cpu.get(r.replica);
      // A restarted replica (new pid) starts its count afresh: no rate until its second reading.
      if (!before || before.pid !== r.pid || now <= before.at) continue;
      const cores = Math.max(0, r.cpuSeconds - before.cpuSeconds) / ((now - before.at) / 1000);
      cpuPercent = (cpuPercent ?? 0) + (cores / target.cpuPerReplica) * 100;
    }
    tracked.cpu = seen;
    return { at: now, concurrency, held, cpuPercent };
  }

  /** One evaluation at a time per proton, and at most one waiting: a slow store never builds a backlog of stale ticks. */
  private enqueue(target: Target, tracked: Tracked, fresh = false): void {
    tracked.fresh ||= fresh;
    if (tracked.queued) return;
    tracked.queued = true;
    tracked.chain = tracked.chain
      .then(() => {
        tracked.queued = false;
        return this.evaluate(target, tracked);
      })
      .catch((error) => this.logger.warn(`proton ${target.protonId}: ${error instanceof Error ? error.message : error}`));
  }

  /** Step 3: decide, and store a change. */
  private async evaluate(target: Target, tracked: Tracked): Promise<void> {
    if (this.stopped || this.tracked.get(target.protonId) !== tracked) return;
    const now = Date.now();
    const settings = target.floor === null ? target.settings : { ...target.settings, minReplicaCount: Math.max(target.settings.minReplicaCount, target.floor) };
    const ready = this.driver.readyEndpoints(target.protonId).length;
    // A cold start between two ticks: the newest gauges count as a sample of their own.
    const fresh = tracked.fresh;
    tracked.fresh = false;
    const samples = fresh ? [...tracked.samples, this.sampleOf(target, { ...tracked, cpu: new Map() }, null, now)] : tracked.samples;
    // A candidate runs max(the rollout's count, the autoscaler's): that is its count now.
    if (target.floor !== null && tracked.state.desired < target.floor) tracked.state = { ...tracked.state, desired: target.floor };
    const decision = decideScale(samples, settings, tracked.state, ready, now, this.options);
    const from = tracked.state.desired;
    tracked.state = { ...decision.state, desired: from };
    if (decision.desired === from) return;
    const { metric, observed, target: policyTarget, policy, mode } = decision;
    const to = decision.desired > from ? await this.withinCapacity(target, from, decision.desired) : decision.desired;
    if (to === from) return;
    const reason = to < decision.desired ? `${decision.reason}; capped at ${to} of ${decision.desired} by the runtime's capacity` : decision.reason;
    const result: ScaleProtonResult = await this.commands.execute(
      new ScaleProtonCommand(target.workloadId, { protonId: target.protonId, from, to, metric, observed, target: policyTarget, policy, mode, reason }, new Date(now).toISOString()),
    );
    if (result.error) {
      this.logger.warn(`proton ${target.protonId}: scaling ${from} → ${to} not recorded: ${result.error.code}: ${result.error.message}`);
      return;
    }
    // Not recorded (the workload moved on, or the stream knew another count): follow the read model.
    const desired = result.scaled?.to ?? (await this.readModels.get<ProtonDoc>(PROTONS, target.protonId))?.scale?.desired ?? from;
    tracked.state = { ...tracked.state, desired };
    if (result.scaled) autoscalerDecisions.inc({ mode, direction: result.scaled.to > result.scaled.from ? 'up' : 'down' });
    if (result.scaled) this.logger.log(`proton ${target.protonId} of ${target.workloadId}: ${result.scaled.from} → ${result.scaled.to} (${mode}: ${reason})`);
  }

  /**
   * A scale-up stops where the operator's admission limits (RUNTIME_MAX_*) would be exceeded:
   * advisory like the check itself (docs/resources.md). Admission counts every workload at its
   * floor; the replicas above the floors that this instance's autoscaler added count too.
   */
  private async withinCapacity(target: Target, from: number, to: number): Promise<number> {
    const limits = capacityLimits(this.config);
    if (limits.maxCpu === null && limits.maxMemory === null && limits.maxReplicas === null) return to;
    const extras = [...this.targets.values()].map((t) => holdingOf(t.runtime, Math.max(0, (this.tracked.get(t.protonId)?.state.desired ?? 0) - heldReplicas(t.runtime))));
    const held = sumHoldings([await heldCapacity(this.readModels, ''), ...extras]);
    let allowed = from;
    while (allowed < to && runtimeCapacityRefusal(holdingOf(target.runtime, allowed + 1 - Math.max(from, heldReplicas(target.runtime))), held, limits) === null) allowed++;
    return Math.max(allowed, Math.min(to, heldReplicas(target.runtime)));
  }

  private recent(protonId: string): boolean {
    const now = Date.now();
    return [...(this.gauges.get(protonId)?.values() ?? [])].some((g) => now - g.receivedAt <= STALE_SAMPLE_MS);
  }
}

/** CPU per replica: the primary (first) container's allocation, as the runtime enforces it. */
function cpuOf(runtime: WorkloadDoc['runtime']): number {
  return runtime.containerGroups[0]?.containers[0]?.resourceAllocation.cpu ?? 1;
}
