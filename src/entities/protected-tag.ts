import type { ProtectedTag } from '../store/schema.js';

const DESCRIPTIONS: Record<number, string> = { 0: 'No one', 30: 'Developers + Maintainers', 40: 'Maintainers', 60: 'Administrators' };

export function protectedTagEntity(p: ProtectedTag) {
  return {
    name: p.name,
    create_access_levels: [
      {
        id: p.id,
        access_level: p.create_access_level,
        access_level_description: DESCRIPTIONS[p.create_access_level] ?? 'Maintainers',
      },
    ],
  };
}
