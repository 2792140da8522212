/// <reference types="vitest/config" />
import path from "node:path";
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` proxies the API like the Python server (`python -m webui`) does in `make up`.
const gateway = process.env.GATEWAY_URL ?? "http://127.0.0.1:8080";
const notify = process.env.NOTIFY_URL ?? "http://127.0.0.1:8081";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: { alias: { "@": path.resolve(import.meta.dirname, "src") } },
  server: {
    host: "127.0.0.1",
    port: 5173,
    proxy: {
      "/function": { target: gateway, changeOrigin: true },
      "/ws": { target: notify, ws: true, changeOrigin: true },
      "/sse": { target: notify, changeOrigin: true },
    },
  },
  build: { sourcemap: false, chunkSizeWarningLimit: 600 },
  test: {
    globals: true,
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
  },
});
