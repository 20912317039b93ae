"""The API documentation page (/docs), served whole by the service: Swagger UI's files come from
the ``swagger-ui-bundle`` package, mounted under /docs/assets, so the page works on a network that
reaches no CDN (FastAPI's default page loads them from jsDelivr). ReDoc has no packaged copy, so
there is no /redoc.

The page carries no inline script or style: its Content-Security-Policy admits only the service's
own files, and the validator badge (which would call validator.swagger.io) is off.

The bundled Swagger UI is 4.15 and renders OpenAPI 3.0 only; the document is 3.1 (FastAPI). The
page's script relabels the copy it displays as 3.0.3, rewriting the two 3.1 forms FastAPI writes
(``examples`` in a schema, a union with null); /openapi.json itself, what clients are generated
from, is untouched.
"""

from __future__ import annotations

from html import escape

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from app.kit.pageheaders import page_headers

DOCS = "/docs"
ASSETS = f"{DOCS}/assets"
SCRIPT = f"{DOCS}/init.js"

_INIT = """\
"use strict";
// Swagger UI for this service's document (app/kit/apidocs.py). No inline script: the CSP admits
// only the service's own files.

// Swagger UI 4 renders OpenAPI 3.0 only. The copy it displays is relabelled 3.0.3, with the 3.1
// forms FastAPI writes put as 3.0 says them: a schema's examples as its example, a union with
// null as nullable.
function asOpenApi30(node) {
  if (Array.isArray(node)) { return node.map(asOpenApi30); }
  if (node === null || typeof node !== "object") { return node; }
  var out = {};
  Object.keys(node).forEach(function (key) { out[key] = asOpenApi30(node[key]); });
  if (Array.isArray(out.examples) && out.example === undefined && out.examples.length) {
    out.example = out.examples[0];
    delete out.examples;
  }
  var union = out.anyOf;
  if (Array.isArray(union) && union.length === 2 && union.some(function (s) { return s.type === "null"; })) {
    var other = union.filter(function (s) { return s.type !== "null"; })[0];
    delete out.anyOf;
    out = Object.assign({}, other.$ref ? {allOf: [other]} : other, out, {nullable: true});
  }
  return out;
}

window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  var spec = new URL(root.dataset.openapiUrl, window.location.href).href;
  window.ui = SwaggerUIBundle({
    url: spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    responseInterceptor: function (response) {
      if (response.url === spec && typeof response.text === "string") {
        var document = asOpenApi30(JSON.parse(response.text));
        document.openapi = "3.0.3";
        response.text = JSON.stringify(document);
      }
      return response;
    }
  });
});
"""

_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{root}{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{root}{assets}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{root}{openapi}"></div>
<script src="{root}{assets}/swagger-ui-bundle.js"></script>
<script src="{root}{script}"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Serve /docs and its files; create the app with ``docs_url=None, redoc_url=None``."""
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")
    title = escape(f"{app.title} - API")

    @app.get(DOCS, include_in_schema=False, response_class=HTMLResponse)
    def docs(request: Request) -> HTMLResponse:
        root = escape(request.scope.get("root_path", "").rstrip("/"))
        html = _PAGE.format(title=title, root=root, assets=ASSETS, script=SCRIPT, openapi=app.openapi_url)
        return HTMLResponse(html, headers=page_headers())

    @app.get(SCRIPT, include_in_schema=False)
    def docs_script() -> Response:
        return Response(_INIT, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})
