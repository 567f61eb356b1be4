/** Entry point of the workspace page: reads the server-rendered config and mounts the workspace. */

import "./style.css";
import type { WorkspaceConfig } from "./config";
import { Workspace } from "./workspace";

const configElement = document.getElementById("workspace-config");
const root = document.getElementById("workspace");
if (configElement && root) {
  const config = JSON.parse(configElement.textContent || "{}") as WorkspaceConfig;
  void new Workspace(root, config).start();
}
