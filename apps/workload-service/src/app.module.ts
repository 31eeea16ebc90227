import { DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { MESSAGE_BUS, MessageBus } from '@wcp/messaging';
import { ArtifactQueries } from './artifacts/artifact.queries';
import { CreateArtifactHandler } from './artifacts/commands/create-artifact/create-artifact.handler';
import { DeleteArtifactHandler } from './artifacts/commands/delete-artifact/delete-artifact.handler';
import { UpdateArtifactHandler } from './artifacts/commands/update-artifact/update-artifact.handler';
import { IMAGE_CATALOG, ImageCatalog, ImageCatalogCheck } from './artifacts/image-catalog.check';
import { ArtifactProjection } from './artifacts/projections/artifact.projection';
import { CONFIG, WorkloadServiceConfig } from './config';
import { AggregateRepository } from './event-store/aggregate.repository';
import { CommitPipeline, PROJECTIONS } from './event-store/commit.pipeline';
import { EVENT_STORE, EventStore } from './event-store/event-store';
import { InternalController } from './http/internal.controller';
import { BootstrapAdminService } from './identity/bootstrap-admin.service';
import { CreateOrgHandler } from './identity/commands/create-org/create-org.handler';
import { UpdateUserHandler } from './identity/commands/update-user/update-user.handler';
import { PrincipalDirectory } from './identity/principal.directory';
import { UpdateSharedRolesHandler } from './workloads/commands/update-shared-roles/update-shared-roles.handler';
import { CreateGroupHandler } from './identity/commands/create-group/create-group.handler';
import { CreateUserHandler } from './identity/commands/create-user/create-user.handler';
import { IdentityQueries } from './identity/identity.queries';
import { IdentityProjection } from './identity/projections/identity.projection';
import { CommandConsumer } from './messaging/command.consumer';
import { IdempotencyKeyStore } from './messaging/idempotency-key.store';
import { OUTBOX_LEASE, OutboxLease } from './messaging/outbox.lease';
import { OutboxRelay } from './messaging/outbox.relay';
import { READ_MODEL_STORE, ReadModelStore } from './read-models/read-model-store';
import { UnitOfWorkStore } from './read-models/unit-of-work.store';
import { CreateWorkloadHandler } from './workloads/commands/create-workload/create-workload.handler';
import { DeleteWorkloadHandler } from './workloads/commands/delete-workload/delete-workload.handler';
import { StartWorkloadHandler } from './workloads/commands/start-workload/start-workload.handler';
import { ResetStatsHandler } from './workloads/commands/reset-stats/reset-stats.handler';
import { StopWorkloadHandler } from './workloads/commands/stop-workload/stop-workload.handler';
import { UpdateWorkloadHandler } from './workloads/commands/update-workload/update-workload.handler';
import { ProtonProjection } from './workloads/projections/proton.projection';
import { WorkloadProjection } from './workloads/projections/workload.projection';
import { ProtonQueries } from './workloads/queries/proton.queries';
import { PlacementDirectory } from './placement/placement.directory';
import { RuntimePlacement } from './placement/runtime-placement';
import { RuntimeRebalancer } from './placement/runtime-rebalancer';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { LifecycleSaga } from './workloads/sagas/lifecycle.saga';
import { AutoscalerSaga } from './workloads/sagas/autoscaler.saga';
import { CapacityLedger } from './workloads/capacity/capacity-ledger.service';
import { CapacityReleaseSaga } from './workloads/capacity/capacity-release.saga';
import { ScaleProtonHandler } from './workloads/commands/scale-proton/scale-proton.handler';
import { RUNTIME_DRIVER, RuntimeDriver } from './runtime';
import { WorkloadQueries } from './workloads/queries/workload.queries';
import { AnalysisClient, ANALYSIS_CLIENT } from './rollouts/analysis.client';
import { CancelReplacementHandler } from './rollouts/commands/cancel-replacement/cancel-replacement.handler';
import { PromoteArtifactHandler } from './rollouts/commands/promote-artifact/promote-artifact.handler';
import { ResumeReplacementHandler } from './rollouts/commands/resume-replacement/resume-replacement.handler';
import { StartReplacementHandler } from './rollouts/commands/start-replacement/start-replacement.handler';
import { UpdateSettingsHandler } from './rollouts/commands/update-settings/update-settings.handler';
import { ReplacementProjection } from './rollouts/projections/replacement.projection';
import { SettingsQueries } from './rollouts/queries/settings.queries';
import { ReplacementStarter } from './rollouts/replacement.starter';
import { RolloutsController } from './rollouts/rollouts.controller';
import { ReplacementSaga } from './rollouts/sagas/replacement.saga';

export interface WorkloadServiceDeps {
  config: WorkloadServiceConfig;
  bus: MessageBus;
  eventStore: EventStore;
  readModels: ReadModelStore;
  lease: OutboxLease;
  imageCatalog: ImageCatalog | null;
  runtime: RuntimeDriver;
  /** Base URL of the telemetry service's internal API, read when a replacement needs a sample (embedded mode knows it late). */
  telemetryUrl: () => string;
}

@Module({})
export class WorkloadServiceModule {
  static register(deps: WorkloadServiceDeps): DynamicModule {
    return {
      module: WorkloadServiceModule,
      imports: [CqrsModule.forRoot()],
      controllers: [InternalController, RolloutsController],
      providers: [
        { provide: CONFIG, useValue: deps.config },
        { provide: MESSAGE_BUS, useValue: deps.bus },
        { provide: EVENT_STORE, useValue: deps.eventStore },
        // Every consumer shares one store; the commit pipeline projects groups of commits through its units of work.
        { provide: READ_MODEL_STORE, useValue: new UnitOfWorkStore(deps.readModels) },
        { provide: OUTBOX_LEASE, useValue: deps.lease },
        { provide: IMAGE_CATALOG, useValue: deps.imageCatalog },
        { provide: RUNTIME_DRIVER, useValue: deps.runtime },
        { provide: RuntimePlacement, useValue: new RuntimePlacement() },
        {
          provide: PlacementDirectory,
          useFactory: (store: ReadModelStore, placement: RuntimePlacement) => new PlacementDirectory(store, placement, `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`),
          inject: [READ_MODEL_STORE, RuntimePlacement],
        },
        RuntimeRebalancer,
        ImageCatalogCheck,
        WorkloadProjection,
        ArtifactProjection,
        IdentityProjection,
        ProtonProjection,
        ReplacementProjection,
        {
          provide: PROJECTIONS,
          // Order matters in a replay: workloads read their artifact's summary, protons their workload, replacements both.
          useFactory: (a: ArtifactProjection, w: WorkloadProjection, p: ProtonProjection, r: ReplacementProjection, i: IdentityProjection) => [a, w, p, r, i],
          inject: [ArtifactProjection, WorkloadProjection, ProtonProjection, ReplacementProjection, IdentityProjection],
        },
        { provide: ANALYSIS_CLIENT, useValue: new AnalysisClient(deps.telemetryUrl) },
        ReplacementSaga,
        ReplacementStarter,
        SettingsQueries,
        UpdateSettingsHandler,
        StartReplacementHandler,
        CancelReplacementHandler,
        ResumeReplacementHandler,
        PromoteArtifactHandler,
        OutboxRelay,
        LifecycleSaga,
        AutoscalerSaga,
        CapacityLedger,
        CapacityReleaseSaga,
        ScaleProtonHandler,
        CommitPipeline,
        AggregateRepository,
        CommandConsumer,
        IdempotencyKeyStore,
        BootstrapAdminService,
        CreateWorkloadHandler,
        UpdateWorkloadHandler,
        DeleteWorkloadHandler,
        StartWorkloadHandler,
        StopWorkloadHandler,
        ResetStatsHandler,
        CreateArtifactHandler,
        UpdateArtifactHandler,
        DeleteArtifactHandler,
        CreateUserHandler,
        UpdateUserHandler,
        CreateGroupHandler,
        CreateOrgHandler,
        UpdateSharedRolesHandler,
        PrincipalDirectory,
        WorkloadQueries,
        ProtonQueries,
        ArtifactQueries,
        IdentityQueries,
      ],
    };
  }
}
