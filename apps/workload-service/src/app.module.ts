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
import { COMMIT_LISTENERS, CommitPipeline, PROJECTIONS } from './event-store/commit.pipeline';
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
import { StopWorkloadHandler } from './workloads/commands/stop-workload/stop-workload.handler';
import { UpdateWorkloadHandler } from './workloads/commands/update-workload/update-workload.handler';
import { WorkloadProjection } from './workloads/projections/workload.projection';
import { WorkloadQueries } from './workloads/queries/workload.queries';

export interface WorkloadServiceDeps {
  config: WorkloadServiceConfig;
  bus: MessageBus;
  eventStore: EventStore;
  readModels: ReadModelStore;
  imageCatalog: ImageCatalog | null;
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
        ImageCatalogCheck,
        WorkloadProjection,
        ArtifactProjection,
        IdentityProjection,
        {
          provide: PROJECTIONS,
          // Artifacts first: a workload's projection reads the artifact summary written in the same replay.
          useFactory: (a: ArtifactProjection, w: WorkloadProjection, i: IdentityProjection) => [a, w, i],
          inject: [ArtifactProjection, WorkloadProjection, IdentityProjection],
        },
        OutboxRelay,
        { provide: COMMIT_LISTENERS, useFactory: (outbox: OutboxRelay) => [outbox], inject: [OutboxRelay] },
        CommitPipeline,
        AggregateRepository,
        CommandConsumer,
        BootstrapAdminService,
        CreateWorkloadHandler,
        UpdateWorkloadHandler,
        DeleteWorkloadHandler,
        StartWorkloadHandler,
        StopWorkloadHandler,
        CreateArtifactHandler,
        UpdateArtifactHandler,
        DeleteArtifactHandler,
        CreateUserHandler,
        CreateGroupHandler,
        WorkloadQueries,
        ArtifactQueries,
        IdentityQueries,
      ],
    };
  }
}
