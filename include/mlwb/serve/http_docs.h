/*
 * http_docs.h — the HTTP API's own description: an OpenAPI 3.0.3 document
 * (GET /openapi.json) and a self-contained HTML page (GET /docs).
 *
 * Both are built once, on the first call, from one table of the routes (src/serve/
 * http_docs.c), so the document and the page cannot disagree.  They are static text:
 * the caller never frees them, and they do not change for the life of the process.
 *
 * Threads: any thread may call either function at any time (pthread_once).
 * Memory: if building fails (out of memory) a smaller fixed text is returned instead,
 * never NULL.
 */
#ifndef MLWB_SERVE_HTTP_DOCS_H
#define MLWB_SERVE_HTTP_DOCS_H

/* The OpenAPI 3.0.3 document, JSON (indented, UTF-8). */
const char *http_openapi_json(void);

/* The HTML page: every route with examples, and a form to try a prediction.  It loads
 * nothing from elsewhere (no scripts, fonts or styles from another host). */
const char *http_docs_html(void);

#endif
