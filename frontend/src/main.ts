/** Entry point of the workspace page: reads the server-rendered config and mounts the workspace. */

import "./style.css";
import { Workspace, type WorkspaceConfig } from "./workspace";

const configElement = document.getElementById("workspace-config");
const root = document.getElementById("workspace");
if (configElement && root) {
  const config = JSON.parse(configElement.textContent || "{}") as WorkspaceConfig;
  void new Workspace(root, config).start();
}
