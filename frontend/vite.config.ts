import { defineConfig } from "vitest/config";

// Built into dist/ and served by Django's staticfiles under /static/; the manifest lets the template tag
// find the hashed file names.
export default defineConfig({
  base: "/static/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    manifest: "manifest.json",
    rollupOptions: { input: { workspace: "src/main.ts", review: "src/review-main.ts" } },
  },
  test: { include: ["tests/**/*.test.ts"], environment: "node" },
});
