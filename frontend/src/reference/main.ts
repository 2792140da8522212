// The browsable API reference (/api/reference): Swagger UI from its npm package, bundled by
// Vite like the app itself (no CDN, no inline script), reading the document the UI server
// serves at /api/openapi.json (`make openapi` writes it from the Python models).
import SwaggerUIBundle from "swagger-ui-dist/swagger-ui-es-bundle.js";
import "swagger-ui-dist/swagger-ui.css";
import "./reference.css";

SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#reference",
  deepLinking: true,
  // No call to swagger.io's validator: the page talks to this origin only (CSP connect-src).
  validatorUrl: null,
  defaultModelsExpandDepth: 1,
});
