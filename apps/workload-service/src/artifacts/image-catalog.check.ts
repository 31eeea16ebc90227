import { Inject, Injectable, Optional } from '@nestjs/common';
import { ArtifactSpec, DomainError, domainError } from '@wcp/contracts';

/** Which image references the configured runtime can run; no catalog means any reference is accepted. */
export interface ImageCatalog {
  /** Why the runtime would refuse this image (with these entrypoint arguments), or null. */
  refusal(imageUri: string, entrypoint: string[]): string | null;
}

export const IMAGE_CATALOG = Symbol('IMAGE_CATALOG');

/** Validates image references against the local catalog when the local runtime is configured. */
@Injectable()
export class ImageCatalogCheck {
  constructor(@Optional() @Inject(IMAGE_CATALOG) private readonly catalog: ImageCatalog | null) {}

  check(spec: ArtifactSpec, loc: (string | number)[]): DomainError | null {
    if (!this.catalog) return null;
    for (const [g, group] of spec.containerGroups.entries()) {
      for (const [c, container] of group.containers.entries()) {
        const refusal = this.catalog.refusal(container.imageUri, container.entrypoint);
        if (refusal) return domainError('validation', 'IMAGE_REFUSED', refusal, [...loc, 'containerGroups', g, 'containers', c, 'imageUri']);
      }
    }
    return null;
  }
}
