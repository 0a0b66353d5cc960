/* test_http_docs.c — the OpenAPI document and the HTML page of the HTTP API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlwb/serve/http_docs.h"

/* Every route, with its methods: the document must have exactly these. */
static const struct {
    const char *path, *methods;
} routes[] = {
    {"/healthz", "get"},
    {"/readyz", "get"},
    {"/v1/predict", "get post"},
    {"/predict", "get"},
    {"/v1/feedback", "post"},
    {"/v1/models", "get"},
    {"/v1/models/{version}", "get"},
    {"/v1/quality", "get"},
    {"/metrics", "get"},
    {"/openapi.json", "get"},
    {"/docs", "get"},
    {"/v2/health/live", "get"},
    {"/v2/health/ready", "get"},
    {"/v2/models/{name}", "get"},
    {"/v2/models/{name}/ready", "get"},
    {"/v2/models/{name}/infer", "post"},
};

/* The operations that need the bearer token when the server has one. */
static const struct {
    const char *path, *method;
} token_ops[] = {
    {"/v1/predict", "get"},  {"/v1/predict", "post"},
    {"/predict", "get"},     {"/v1/feedback", "post"},
    {"/v2/models/{name}/infer", "post"},
};

static const char *const http_methods[] = {"get", "put", "post", "delete",
                                           "options", "head", "patch", "trace"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static json_t *load_doc(void)
{
    json_error_t je;
    json_t *d = json_loads(http_openapi_json(), 0, &je);
    if (!d)
        fail_msg("openapi.json: line %d column %d: %s", je.line, je.column, je.text);
    assert_true(json_is_object(d));
    return d;
}

static bool is_method(const char *k)
{
    for (size_t i = 0; i < COUNT(http_methods); i++)
        if (strcmp(k, http_methods[i]) == 0)
            return true;
    return false;
}

/* "#/a/b" in doc (JSON pointer with ~0 and ~1), or NULL. */
static json_t *resolve(json_t *doc, const char *ref)
{
    if (strncmp(ref, "#/", 2) != 0)
        return NULL;
    json_t *v = doc;
    const char *p = ref + 2;
    char key[256];
    while (v && *p) {
        size_t n = 0;
        for (; *p && *p != '/' && n < sizeof key - 1; p++) {
            if (p[0] == '~' && (p[1] == '0' || p[1] == '1'))
                key[n++] = *++p == '0' ? '~' : '/';
            else
                key[n++] = *p;
        }
        key[n] = 0;
        v = json_object_get(v, key);
        if (*p == '/')
            p++;
    }
    return v;
}

/* o, or what its $ref points to. */
static json_t *deref(json_t *doc, json_t *o)
{
    const char *r = json_string_value(json_object_get(o, "$ref"));
    return r ? resolve(doc, r) : o;
}

static void document_header(void **state)
{
    json_t *d = load_doc();
    assert_string_equal(json_string_value(json_object_get(d, "openapi")), "3.0.3");
    json_t *info = json_object_get(d, "info");
    const char *title = json_string_value(json_object_get(info, "title"));
    const char *version = json_string_value(json_object_get(info, "version"));
    assert_non_null(title);
    assert_non_null(strstr(title, "mlwb"));
    assert_non_null(version);
    assert_true(strlen(version) > 0);
    assert_non_null(json_string_value(json_object_get(info, "description")));
    assert_true(json_is_object(json_object_get(d, "paths")));
    assert_true(json_is_object(json_object_get(d, "components")));
    json_decref(d);
}

static void paths_and_methods(void **state)
{
    json_t *d = load_doc(), *paths = json_object_get(d, "paths");
    assert_int_equal(json_object_size(paths), COUNT(routes));
    for (size_t i = 0; i < COUNT(routes); i++) {
        json_t *item = json_object_get(paths, routes[i].path);
        if (!item)
            fail_msg("path %s is missing", routes[i].path);
        const char *k;
        json_t *v;
        size_t n = 0;
        json_object_foreach(item, k, v) {
            if (!is_method(k))
                continue;
            char want[16];
            snprintf(want, sizeof want, " %s ", k);
            char have[32];
            snprintf(have, sizeof have, " %s ", routes[i].methods);
            if (!strstr(have, want))
                fail_msg("%s %s should not be there", k, routes[i].path);
            n++;
        }
        size_t expected = 1 + (strchr(routes[i].methods, ' ') != NULL);
        if (n != expected)
            fail_msg("%s: %zu methods, expected %s", routes[i].path, n, routes[i].methods);
    }
    json_decref(d);
}

/* Every operation: a summary, a unique operationId, a described 2xx answer, every
 * answer described, examples on bodies and JSON answers. */
static void operations_complete(void **state)
{
    json_t *d = load_doc(), *paths = json_object_get(d, "paths"), *ids = json_object();
    const char *path, *method;
    json_t *item, *op;
    size_t ops = 0;
    json_object_foreach(paths, path, item) {
        json_object_foreach(item, method, op) {
            if (!is_method(method))
                continue;
            ops++;
            const char *id = json_string_value(json_object_get(op, "operationId"));
            assert_non_null(id);
            if (json_object_get(ids, id))
                fail_msg("operationId %s twice", id);
            json_object_set_new(ids, id, json_true());
            assert_non_null(json_string_value(json_object_get(op, "summary")));
            json_t *rs = json_object_get(op, "responses");
            if (!json_is_object(rs) || !json_object_size(rs))
                fail_msg("%s %s: no responses", method, path);
            bool ok2xx = false;
            const char *code;
            json_t *r;
            json_object_foreach(rs, code, r) {
                json_t *rr = deref(d, r);
                assert_non_null(rr);
                const char *desc = json_string_value(json_object_get(rr, "description"));
                if (!desc || !*desc)
                    fail_msg("%s %s %s: no description", method, path, code);
                assert_true(strlen(code) == 3 && code[0] >= '1' && code[0] <= '5');
                if (code[0] == '2') {
                    ok2xx = true;
                    json_t *media = json_object_get(json_object_get(rr, "content"),
                                                    "application/json");
                    if (media && strcmp(path, "/openapi.json") != 0 &&
                        !json_object_get(media, "example") && !json_object_get(media, "examples"))
                        fail_msg("%s %s %s: no example", method, path, code);
                }
            }
            if (!ok2xx)
                fail_msg("%s %s: no 2xx answer", method, path);
            json_t *body = json_object_get(op, "requestBody");
            if (body) {
                json_t *media =
                    json_object_get(json_object_get(deref(d, body), "content"), "application/json");
                assert_non_null(json_object_get(media, "schema"));
                assert_non_null(json_object_get(media, "example"));
            }
            assert_true(strcmp(method, "post") == 0 || !body);
        }
    }
    assert_int_equal(ops, 17);
    json_decref(ids);
    json_decref(d);
}

static void walk_refs(json_t *doc, json_t *v, size_t *n)
{
    const char *k;
    json_t *e;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, k, e) {
            if (strcmp(k, "$ref") == 0) {
                const char *r = json_string_value(e);
                assert_non_null(r);
                if (strncmp(r, "#/components/", 13) != 0)
                    fail_msg("$ref %s is not in components", r);
                if (!resolve(doc, r))
                    fail_msg("$ref %s does not resolve", r);
                assert_int_equal(json_object_size(v), 1);  /* no siblings in 3.0 */
                (*n)++;
            } else {
                walk_refs(doc, e, n);
            }
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, e)
            walk_refs(doc, e, n);
    }
}

static void refs_resolve(void **state)
{
    json_t *d = load_doc();
    size_t n = 0;
    walk_refs(d, d, &n);
    assert_true(n > 50);
    json_t *c = json_object_get(d, "components");
    for (const char *const *k = (const char *const[]){"schemas", "parameters", "responses",
                                                      "examples", "securitySchemes", NULL};
         *k; k++)
        assert_true(json_object_size(json_object_get(c, *k)) > 0);
    json_decref(d);
}

static void path_parameters(void **state)
{
    json_t *d = load_doc(), *paths = json_object_get(d, "paths");
    const char *path, *method;
    json_t *item, *op;
    json_object_foreach(paths, path, item) {
        json_object_foreach(item, method, op) {
            if (!is_method(method))
                continue;
            size_t templated = 0, declared = 0;
            for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{')) {
                const char *end = strchr(p, '}');
                assert_non_null(end);
                templated++;
                bool found = false;
                size_t i;
                json_t *pr;
                json_array_foreach(json_object_get(op, "parameters"), i, pr) {
                    json_t *q = deref(d, pr);
                    const char *name = json_string_value(json_object_get(q, "name"));
                    if (name && strlen(name) == (size_t)(end - p - 1) &&
                        strncmp(name, p + 1, (size_t)(end - p - 1)) == 0 &&
                        strcmp(json_string_value(json_object_get(q, "in")), "path") == 0 &&
                        json_is_true(json_object_get(q, "required")))
                        found = true;
                }
                if (!found)
                    fail_msg("%s %s: no required path parameter for %.*s", method, path,
                             (int)(end - p + 1), p);
            }
            size_t i;
            json_t *pr;
            json_array_foreach(json_object_get(op, "parameters"), i, pr) {
                json_t *q = deref(d, pr);
                assert_non_null(json_string_value(json_object_get(q, "description")));
                assert_non_null(json_object_get(q, "schema"));
                if (strcmp(json_string_value(json_object_get(q, "in")), "path") == 0)
                    declared++;
            }
            assert_int_equal(templated, declared);
        }
    }
    json_decref(d);
}

static bool has_bearer(json_t *op)
{
    size_t i;
    json_t *req;
    json_array_foreach(json_object_get(op, "security"), i, req)
        if (json_is_array(json_object_get(req, "bearerAuth")))
            return true;
    return false;
}

static void bearer_security(void **state)
{
    json_t *d = load_doc();
    json_t *b = json_object_get(
        json_object_get(json_object_get(d, "components"), "securitySchemes"), "bearerAuth");
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "type")), "http");
    assert_string_equal(json_string_value(json_object_get(b, "scheme")), "bearer");
    assert_null(json_object_get(d, "security"));  /* open unless said */
    json_t *paths = json_object_get(d, "paths");
    const char *path, *method;
    json_t *item, *op;
    size_t with_token = 0;
    json_object_foreach(paths, path, item) {
        json_object_foreach(item, method, op) {
            if (!is_method(method))
                continue;
            bool want = false;
            for (size_t i = 0; i < COUNT(token_ops); i++)
                want |= strcmp(token_ops[i].path, path) == 0 &&
                        strcmp(token_ops[i].method, method) == 0;
            if (want != has_bearer(op))
                fail_msg("%s %s: bearerAuth %s", method, path, want ? "missing" : "unexpected");
            if (want) {
                with_token++;
                if (!json_object_get(json_object_get(op, "responses"), "401"))
                    fail_msg("%s %s: no 401 answer", method, path);
            }
        }
    }
    assert_int_equal(with_token, COUNT(token_ops));
    json_decref(d);
}

/* A small validator for the schema keywords the document uses, to check its examples. */
static bool valid(json_t *doc, json_t *s, json_t *v, const char *where, bool say)
{
#define BAD(...) (say ? (fprintf(stderr, "%s: ", where), fprintf(stderr, __VA_ARGS__), \
                         fputc('\n', stderr), false) : false)
    s = deref(doc, s);
    if (!s)
        return BAD("unresolved schema");
    if (json_is_null(v) && json_is_true(json_object_get(s, "nullable")))
        return true;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(s, "allOf"), i, e)
        if (!valid(doc, e, v, where, say))
            return false;
    json_t *one = json_object_get(s, "oneOf");
    if (one) {
        size_t hits = 0;
        json_array_foreach(one, i, e)
            hits += valid(doc, e, v, where, false);
        if (hits != 1)
            return BAD("matches %zu of oneOf", hits);
    }
    const char *t = json_string_value(json_object_get(s, "type"));
    if (t) {
        bool ok = strcmp(t, "object") == 0    ? json_is_object(v)
                  : strcmp(t, "array") == 0   ? json_is_array(v)
                  : strcmp(t, "string") == 0  ? json_is_string(v)
                  : strcmp(t, "integer") == 0 ? json_is_integer(v)
                  : strcmp(t, "number") == 0  ? json_is_number(v)
                  : strcmp(t, "boolean") == 0 ? json_is_boolean(v)
                                              : false;
        if (!ok)
            return BAD("expected %s", t);
    }
    json_t *en = json_object_get(s, "enum");
    if (en) {
        bool in = false;
        json_array_foreach(en, i, e)
            in |= json_equal(e, v) != 0;
        if (!in)
            return BAD("not in enum");
    }
    json_t *mn = json_object_get(s, "minimum"), *mx = json_object_get(s, "maximum");
    if (json_is_number(v) && mn && json_number_value(v) < json_number_value(mn))
        return BAD("below minimum");
    if (json_is_number(v) && mx && json_number_value(v) > json_number_value(mx))
        return BAD("above maximum");
    json_t *ml = json_object_get(s, "minLength"), *xl = json_object_get(s, "maxLength");
    if (json_is_string(v) && ml && json_string_length(v) < (size_t)json_integer_value(ml))
        return BAD("too short");
    if (json_is_string(v) && xl && json_string_length(v) > (size_t)json_integer_value(xl))
        return BAD("too long");
    if (json_is_object(v)) {
        json_array_foreach(json_object_get(s, "required"), i, e)
            if (!json_object_get(v, json_string_value(e)))
                return BAD("'%s' is required", json_string_value(e));
        const char *k;
        json_t *ps = json_object_get(s, "properties"), *pv;
        json_object_foreach(v, k, pv) {
            json_t *ks = json_object_get(ps, k);
            char sub[512];
            snprintf(sub, sizeof sub, "%s.%s", where, k);
            if (ks && !valid(doc, ks, pv, sub, say))
                return false;
        }
    }
    if (json_is_array(v)) {
        json_t *lo = json_object_get(s, "minItems"), *hi = json_object_get(s, "maxItems");
        if (lo && json_array_size(v) < (size_t)json_integer_value(lo))
            return BAD("too few items");
        if (hi && json_array_size(v) > (size_t)json_integer_value(hi))
            return BAD("too many items");
        json_t *items = json_object_get(s, "items");
        json_array_foreach(v, i, e) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s[%zu]", where, i);
            if (items && !valid(doc, items, e, sub, say))
                return false;
        }
    }
    return true;
#undef BAD
}

/* Every example of a JSON media type against its schema; returns how many. */
static size_t check_media(json_t *d, json_t *content, const char *where)
{
    json_t *media = json_object_get(content, "application/json");
    if (!media)
        return 0;
    json_t *schema = json_object_get(media, "schema"), *ex = json_object_get(media, "example");
    size_t n = 0;
    if (ex) {
        if (!valid(d, schema, ex, where, true))
            fail_msg("%s: the example does not fit its schema", where);
        n++;
    }
    const char *name;
    json_t *e;
    json_object_foreach(json_object_get(media, "examples"), name, e) {
        json_t *val = json_object_get(deref(d, e), "value");
        assert_non_null(val);
        char w[256];
        snprintf(w, sizeof w, "%s (%s)", where, name);
        if (!valid(d, schema, val, w, true))
            fail_msg("%s: the example does not fit its schema", w);
        n++;
    }
    return n;
}

static void examples_fit_schemas(void **state)
{
    json_t *d = load_doc(), *paths = json_object_get(d, "paths");
    const char *path, *method, *code;
    json_t *item, *op, *r;
    size_t n = 0;
    json_object_foreach(paths, path, item) {
        json_object_foreach(item, method, op) {
            if (!is_method(method))
                continue;
            char w[256];
            snprintf(w, sizeof w, "%s %s body", method, path);
            n += check_media(d, json_object_get(json_object_get(op, "requestBody"), "content"),
                             w);
            json_object_foreach(json_object_get(op, "responses"), code, r) {
                snprintf(w, sizeof w, "%s %s %s", method, path, code);
                n += check_media(d, json_object_get(deref(d, r), "content"), w);
            }
        }
    }
    assert_true(n >= 40);
    /* the validator itself refuses what it should */
    json_t *bad = json_loads("{\"model_version\":1,\"predictions\":[{\"id\":1,\"label\":"
                             "\"setosa\"}]}", 0, NULL);
    json_t *schema = json_pack("{ss}", "$ref", "#/components/schemas/PredictResponse");
    assert_false(valid(d, schema, bad, "bad", false));
    json_decref(schema);
    json_decref(bad);
    json_decref(d);
}

static void html_no_other_hosts(void **state)
{
    const char *h = http_docs_html();
    size_t n = strlen(h);
    char *low = malloc(n + 1);
    assert_non_null(low);
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)h[i]);
    assert_null(strstr(low, "http://"));
    assert_null(strstr(low, "https://"));
    assert_null(strstr(low, "src=\"//"));
    assert_null(strstr(low, "href=\"//"));
    assert_null(strstr(low, "<script src"));
    assert_null(strstr(low, "<link"));
    assert_null(strstr(low, "@import"));
    assert_null(strstr(low, "url("));
    assert_null(strstr(low, "<iframe"));
    free(low);
}

static void html_page_content(void **state)
{
    const char *h = http_docs_html();
    assert_int_equal(strncmp(h, "<!DOCTYPE html>", 15), 0);
    for (size_t i = 0; i < COUNT(routes); i++)
        if (!strstr(h, routes[i].path))
            fail_msg("the page does not mention %s", routes[i].path);
    assert_non_null(strstr(h, "<form"));
    assert_non_null(strstr(h, "id=\"predict\""));
    assert_non_null(strstr(h, "id=\"models\""));
    assert_non_null(strstr(h, "<textarea"));
    assert_non_null(strstr(h, "[[5.1,3.5,1.4,0.2]]</textarea>"));
    assert_non_null(strstr(h, "id=\"token\""));
    assert_non_null(strstr(h, "fetch(path"));
    assert_non_null(strstr(h, "'/v1/predict'"));
    assert_non_null(strstr(h, "'Bearer '"));
    /* the form learns the active model's features from /v1/models */
    assert_non_null(strstr(h, "id=\"features\""));
    assert_non_null(strstr(h, "fetch('/v1/models'"));
    assert_non_null(strstr(h, "feature_stats"));
    assert_non_null(strstr(h, "</html>"));
    /* readable without the script: the form has a no-JS action */
    assert_non_null(strstr(h, "action=\"/predict\""));
}

/* Open and close tags pair up (void elements aside; script and style skipped). */
static void html_balanced(void **state)
{
    static const char *const voids[] = {"meta", "input", "br", "hr", "img", "link", "!doctype"};
    const char *p = http_docs_html();
    char stack[64][16];
    int depth = 0;
    while ((p = strchr(p, '<'))) {
        bool close = p[1] == '/';
        const char *s = p + 1 + close;
        char name[16];
        size_t n = 0;
        while ((isalnum((unsigned char)*s) || *s == '!') && n < sizeof name - 1)
            name[n++] = (char)tolower((unsigned char)*s++);
        name[n] = 0;
        const char *end = strchr(s, '>');
        assert_non_null(end);
        if (!n) {
            fail_msg("a stray '<' near: %.40s", p);
        }
        bool v = false;
        for (size_t i = 0; i < COUNT(voids); i++)
            v |= strcmp(name, voids[i]) == 0;
        if (close) {
            if (depth == 0 || strcmp(stack[depth - 1], name) != 0)
                fail_msg("</%s> closes <%s>", name, depth ? stack[depth - 1] : "nothing");
            depth--;
        } else if (!v) {
            assert_true(depth < 64);
            snprintf(stack[depth++], sizeof stack[0], "%s", name);
            if (strcmp(name, "script") == 0 || strcmp(name, "style") == 0) {
                char closing[24];
                snprintf(closing, sizeof closing, "</%s>", name);
                end = strstr(end, closing);
                assert_non_null(end);
                end--;
            }
        }
        p = end + 1;
    }
    assert_int_equal(depth, 0);
}

static void *grab(void *arg)
{
    const char **out = arg;
    out[0] = http_openapi_json();
    out[1] = http_docs_html();
    return NULL;
}

/* Built once, whichever thread comes first: every caller gets the same text. */
static void built_once(void **state)
{
    enum { N = 8 };
    pthread_t t[N];
    const char *got[N][2];
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&t[i], NULL, grab, got[i]), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < N; i++) {
        assert_ptr_equal(got[i][0], http_openapi_json());
        assert_ptr_equal(got[i][1], http_docs_html());
    }
    assert_true(strlen(http_openapi_json()) > 10000);  /* not the fallback */
    assert_true(strlen(http_docs_html()) > 10000);
    printf("openapi.json: %zu bytes, docs: %zu bytes\n", strlen(http_openapi_json()),
           strlen(http_docs_html()));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(built_once),  /* first: the threads race to build */
        cmocka_unit_test(document_header),
        cmocka_unit_test(paths_and_methods),
        cmocka_unit_test(operations_complete),
        cmocka_unit_test(refs_resolve),
        cmocka_unit_test(path_parameters),
        cmocka_unit_test(bearer_security),
        cmocka_unit_test(examples_fit_schemas),
        cmocka_unit_test(html_no_other_hosts),
        cmocka_unit_test(html_page_content),
        cmocka_unit_test(html_balanced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
