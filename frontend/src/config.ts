/** What the server renders into the workspace page (`workspace-config`) and what `/api/me/` answers. */

import type { SourceInfo } from "./displayMapping";
import type { Label } from "./panels";
import type { BatchInfo } from "./submit";
import type { TilesInfo } from "./tiles";

export interface WorkspaceConfig {
  // `url`: slice 0 as shown; `source`: how a 16-bit/DICOM/… image is shown, its slices and bands (null: a photo);
  // `tiles`: a tiled (gigapixel) image's pyramid, shown tile by tile, its file never loaded (null: any other image)
  image: {
    id: number;
    width: number;
    height: number;
    name: string;
    url: string;
    status?: string;
    source?: SourceInfo | null;
    tiles?: TilesInfo | null;
  };
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
