import { Module, type DynamicModule } from '@nestjs/common';
import { DomainErrorFilter } from './http/domain-error.filter';
import { StatsController } from './stats/stats.controller';
import { StatsService } from './stats/stats.service';
import { APP_FILTER } from '@nestjs/core';

/** HTTP wiring only: the services are built (and closed) by createTelemetryService. */
@Module({})
export class TelemetryModule {
  static register(stats: StatsService): DynamicModule {
    return {
      module: TelemetryModule,
      controllers: [StatsController],
      providers: [
        { provide: StatsService, useValue: stats },
        { provide: APP_FILTER, useClass: DomainErrorFilter },
      ],
    };
  }
}
