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
import { CreateGroupHandler } from './identity/commands/create-group/create-group.handler';
import { CreateUserHandler } from './identity/commands/create-user/create-user.handler';
import { IdentityQueries } from './identity/identity.queries';
import { IdentityProjection } from './identity/projections/identity.projection';
import { CommandConsumer } from './messaging/command.consumer';
import { OutboxRelay } from './messaging/outbox.relay';
import { READ_MODEL_STORE, ReadModelStore } from './read-models/read-model-store';
import { CreateWorkloadHandler } from './workloads/commands/create-workload/create-workload.handler';
import { DeleteWorkloadHandler } from './workloads/commands/delete-workload/delete-workload.handler';
import { StartWorkloadHandler } from './workloads/commands/start-workload/start-workload.handler';
import { ResetStatsHandler } from './workloads/commands/reset-stats/reset-stats.handler';
import { StopWorkloadHandler } from './workloads/commands/stop-workload/stop-workload.handler';
import { UpdateWorkloadHandler } from './workloads/commands/update-workload/update-workload.handler';
import { ProtonProjection } from './workloads/projections/proton.projection';
import { WorkloadProjection } from './workloads/projections/workload.projection';
import { ProtonQueries } from './workloads/queries/proton.queries';
import { LifecycleSaga } from './workloads/sagas/lifecycle.saga';
import { RUNTIME_DRIVER, RuntimeDriver } from './runtime';
import { WorkloadQueries } from './workloads/queries/workload.queries';

export interface WorkloadServiceDeps {
  config: WorkloadServiceConfig;
  bus: MessageBus;
  eventStore: EventStore;
  readModels: ReadModelStore;
  imageCatalog: ImageCatalog | null;
  runtime: RuntimeDriver;
}

@Module({})
export class WorkloadServiceModule {
  static register(deps: WorkloadServiceDeps): DynamicModule {
    return {
      module: WorkloadServiceModule,
      imports: [CqrsModule.forRoot()],
      controllers: [InternalController],
      providers: [
        { provide: CONFIG, useValue: deps.config },
        { provide: MESSAGE_BUS, useValue: deps.bus },
        { provide: EVENT_STORE, useValue: deps.eventStore },
        { provide: READ_MODEL_STORE, useValue: deps.readModels },
        { provide: IMAGE_CATALOG, useValue: deps.imageCatalog },
        { provide: RUNTIME_DRIVER, useValue: deps.runtime },
        ImageCatalogCheck,
        WorkloadProjection,
        ArtifactProjection,
        IdentityProjection,
        ProtonProjection,
        {
          provide: PROJECTIONS,
          // Order matters in a replay: workloads read their artifact's summary, protons their workload.
          useFactory: (a: ArtifactProjection, w: WorkloadProjection, p: ProtonProjection, i: IdentityProjection) => [a, w, p, i],
          inject: [ArtifactProjection, WorkloadProjection, ProtonProjection, IdentityProjection],
        },
        OutboxRelay,
        LifecycleSaga,
        CommitPipeline,
        AggregateRepository,
        CommandConsumer,
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
        CreateGroupHandler,
        WorkloadQueries,
        ProtonQueries,
        ArtifactQueries,
        IdentityQueries,
      ],
    };
  }
}
