"""The web UI server: serves the built frontend and proxies the API so the browser needs no CORS."""
