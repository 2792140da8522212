/// <reference types="vitest/config" />
import path from "node:path";
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` sends every API call through the UI server that `make up` runs (`python -m
// webui`): it holds the operator session and decides what reaches the gateway and notify. The
// Host header is kept, so the UI server sees the page's own origin.
const ui = process.env.UI_URL ?? "http://127.0.0.1:3000";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: { alias: { "@": path.resolve(import.meta.dirname, "src") } },
  server: {
    host: "127.0.0.1",
    port: 5173,
    proxy: {
      "/function": { target: ui },
      "/session": { target: ui },
      "/ws": { target: ui, ws: true },
      "/sse": { target: ui },
    },
  },
  build: {
    sourcemap: false,
    // Swagger UI (the API reference page, its own entry) is one large bundle of its own.
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      input: {
        app: path.resolve(import.meta.dirname, "index.html"),
        reference: path.resolve(import.meta.dirname, "api/reference.html"),
      },
    },
  },
  test: {
    globals: true,
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
  },
});
