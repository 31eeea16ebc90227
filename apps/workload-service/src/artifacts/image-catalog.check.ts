import { Inject, Injectable, Optional } from '@nestjs/common';
import { ArtifactSpec, DomainError, domainError } from '@wcp/contracts';

/** Which image references the configured runtime can run; null means any reference is accepted. */
export interface ImageCatalog {
  has(imageUri: string): boolean;
  names(): string[];
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
        if (!this.catalog.has(container.imageUri)) {
          return domainError(
            'validation',
            'IMAGE_NOT_IN_CATALOG',
            `image '${container.imageUri}' is not in the local image catalog (known: ${this.catalog.names().join(', ')})`,
            [...loc, 'containerGroups', g, 'containers', c, 'imageUri'],
          );
        }
      }
    }
    return null;
  }
}
