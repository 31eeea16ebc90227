import { z } from 'zod';
import { Id } from './ids';
import { Runtime, type RuntimeSettings } from './runtime';

export const REPLACEMENT_STRATEGIES = ['rolling', 'blueGreen', 'canary'] as const;
export type ReplacementStrategy = (typeof REPLACEMENT_STRATEGIES)[number];

export const REPLACEMENT_STATUSES = ['submitted', 'initializing', 'staged', 'promoting', 'finalizing', 'completed', 'errored', 'canceling', 'canceled'] as const;
export type ReplacementStatus = (typeof REPLACEMENT_STATUSES)[number];
export const TERMINAL_REPLACEMENT_STATUSES: readonly ReplacementStatus[] = ['completed', 'errored', 'canceled'];

export const CanaryStep = z.strictObject({
  trafficPercent: z.number().gt(0).max(100),
  /** Minutes to hold this step; null waits for `POST /replacement/resume`. */
  pauseMinutes: z.number().min(0).max(1440).nullable(),
});

/**
 * Automatic judgement of the candidate by its own traffic (our extension): over a threshold it
 * is rolled back; with fewer than `minRequests` in the window the step waits (no verdict on no data).
 */
export const Analysis = z.strictObject({
  /** Share of 5xx answers, 0..1. */
  maxErrorRate: z.number().min(0).max(1).nullish(),
  maxP99Ms: z.number().positive().nullish(),
  minRequests: z.int().min(1).max(1_000_000).default(20),
  intervalSeconds: z.number().min(1).max(3600).default(30),
});

export const ReplacementConfig = z
  .strictObject({
    warmupDurationMinutes: z.number().min(0).max(1440).default(0),
    keepOldVersionMinutes: z.number().min(0).max(1440).default(0),
    /** Rolling: candidate replicas started ahead of retired old ones. */
    maxSurge: z.int().min(1).max(100).default(1),
    canarySteps: z.array(CanaryStep).min(1).max(20).optional(),
    analysis: Analysis.nullish(),
  })
  .superRefine((c, ctx) => {
    c.canarySteps?.forEach((s, i) => {
      const previous = c.canarySteps![i - 1];
      if (previous && s.trafficPercent <= previous.trafficPercent) {
        ctx.addIssue({ code: 'custom', path: ['canarySteps', i, 'trafficPercent'], message: 'canary steps must increase the traffic share' });
      }
    });
  });
export type ReplacementConfigInput = z.input<typeof ReplacementConfig>;

/** Body of `PATCH /workloads/{id}/settings`: the whole runtime; always a rolling replacement. */
export const UpdateSettingsBody = z.strictObject({ runtime: Runtime });
export type UpdateSettingsBody = z.output<typeof UpdateSettingsBody>;

/** Body of `POST /workloads/{id}/replacement`. */
export const StartReplacementBody = z
  .strictObject({
    artifactId: Id,
    strategy: z.enum(REPLACEMENT_STRATEGIES).default('rolling'),
    config: ReplacementConfig.optional(),
    runtime: Runtime.optional(),
  })
  .superRefine((b, ctx) => {
    if (b.strategy === 'canary' && !b.config?.canarySteps) {
      ctx.addIssue({ code: 'custom', path: ['config', 'canarySteps'], message: 'a canary replacement needs config.canarySteps' });
    }
    if (b.strategy !== 'canary' && b.config?.canarySteps) {
      ctx.addIssue({ code: 'custom', path: ['config', 'canarySteps'], message: 'canarySteps apply to the canary strategy only' });
    }
    // A setting the chosen strategy would not act on is refused, not stored and ignored.
    if (b.strategy !== 'blueGreen' && (b.config?.warmupDurationMinutes ?? 0) > 0) {
      ctx.addIssue({ code: 'custom', path: ['config', 'warmupDurationMinutes'], message: 'warmupDurationMinutes applies to the blueGreen strategy only' });
    }
    if (b.strategy === 'rolling' && (b.config?.keepOldVersionMinutes ?? 0) > 0) {
      ctx.addIssue({ code: 'custom', path: ['config', 'keepOldVersionMinutes'], message: 'keepOldVersionMinutes applies to blueGreen and canary (a rolling replacement retires the previous replicas as it goes)' });
    }
    if (b.strategy !== 'rolling' && (b.config?.maxSurge ?? 1) !== 1) {
      ctx.addIssue({ code: 'custom', path: ['config', 'maxSurge'], message: 'maxSurge applies to the rolling strategy only' });
    }
  });
export type StartReplacementBody = z.output<typeof StartReplacementBody>;

/** The normalised config as stored and returned (defaults filled). */
export interface ReplacementConfigSettings {
  warmupDurationMinutes: number;
  keepOldVersionMinutes: number;
  maxSurge: number;
  canarySteps: Array<{ trafficPercent: number; pauseMinutes: number | null }> | null;
  analysis: { maxErrorRate: number | null; maxP99Ms: number | null; minRequests: number; intervalSeconds: number } | null;
}

/** The Replacement resource (spec §2). */
export interface ReplacementDto {
  id: string;
  workloadId: string;
  candidateArtifactId: string;
  candidateProtonIds: string[];
  previousProtonIds: string[];
  status: ReplacementStatus;
  strategy: ReplacementStrategy;
  config: ReplacementConfigSettings;
  runtime: RuntimeSettings;
  message: string | null;
  switchedAt: string | null;
  createdAt: string;
  updatedAt: string;
  userId: string | null;
  /** Our extension: where the rollout stands (canary step, traffic share of the candidate). */
  progress: { step: number | null; candidateTrafficPercent: number; candidateReadyReplicas: number; previousReadyReplicas: number };
}
