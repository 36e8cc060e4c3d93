import { forbidden, unauthenticated } from './errors.ts';
import type { Viewer } from './internalContext.ts';

/** Defence in depth: subgraphs check roles themselves rather than trusting the gateway alone. */
export function requireViewer(viewer: Viewer | null): Viewer {
  if (!viewer) throw unauthenticated();
  return viewer;
}

export function requireAdmin(viewer: Viewer | null): Viewer {
  const v = requireViewer(viewer);
  if (v.role !== 'admin') throw forbidden('This operation needs the admin role');
  return v;
}
