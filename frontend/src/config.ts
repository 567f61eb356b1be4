/** What the server renders into the workspace page (`workspace-config`) and what `/api/me/` answers. */

import type { Label } from "./panels";
import type { BatchInfo } from "./submit";

export interface WorkspaceConfig {
  image: { id: number; width: number; height: number; name: string; url: string; status?: string };
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
