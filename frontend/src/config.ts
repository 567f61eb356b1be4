/** What the server renders into the workspace page (`workspace-config`) and what `/api/me/` answers. */

import type { Label } from "./panels";
import type { BatchInfo } from "./submit";
import type { TilesInfo } from "./tiles";

export interface WorkspaceConfig {
  // tiles: a tiled image's pyramid (shown tile by tile; its file is never loaded), else null
  image: { id: number; width: number; height: number; name: string; url: string; status?: string; tiles?: TilesInfo | null };
  labels: Label[];
  projectUrl: string;
  prevUrl: string | null;
  nextUrl: string | null;
  loginUrl: string;
  batch?: BatchInfo | null; // the image's batch: "Submit batch" while it is open or rejected
  user?: { id: number; username: string };
}

export interface Me {
  username?: string;
  preferences: Record<string, unknown>;
}
