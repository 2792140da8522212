declare module "swagger-ui-dist/swagger-ui-es-bundle.js" {
  /** Swagger UI's constructor: renders the document at `url` into `dom_id`. */
  const SwaggerUIBundle: (options: Record<string, unknown>) => unknown;
  export default SwaggerUIBundle;
}
