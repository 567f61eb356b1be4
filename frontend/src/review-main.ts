/** Entry point of the review page: reads the server-rendered config and mounts the review page. */

import "./style.css";
import "./review.css";
import { type ReviewConfig, ReviewPage } from "./review";

const configElement = document.getElementById("review-config");
const root = document.getElementById("review");
if (configElement && root) {
  const config = JSON.parse(configElement.textContent || "{}") as ReviewConfig;
  void new ReviewPage(root, config).start();
}
