/** What the server renders into the workspace page (`workspace-config`) and what `/api/me/` answers. */

import type { SourceInfo } from "./displayMapping";
import type { Label } from "./panels";
import type { BatchInfo } from "./submit";
import type { TilesInfo } from "./tiles";

/** The image of an image page (workspace, review, read-only view), as backend/web/image_pages.py renders it.
 * `url`: slice 0 as shown; `source`: how a 16-bit/DICOM/… image is shown, its slices and bands (null: a photo);
 * `tiles`: a tiled (gigapixel) image's pyramid, shown tile by tile, its file never loaded (null: any other image). */
export interface PageImage {
  id: number;
  width: number;
  height: number;
  name: string;
  url: string;
  status?: string;
  source?: SourceInfo | null;
  tiles?: TilesInfo | null;
}

export interface WorkspaceConfig {
  image: PageImage;
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
