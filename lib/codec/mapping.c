/*
 * mapping.c - an event in the field names SIEMs expect: OCSF 1.1
 * Authentication (class 3002) and the Elastic Common Schema (8.x), as one
 * JSON object, for the webhook and file sinks and for `trail emit`.
 *
 * Both mappings are total: every event maps, known keys go to the schema's
 * fields, and every attribute is also kept verbatim (OCSF "unmapped", ECS
 * "trail.attrs"), so nothing is lost when a key has no standard home. The
 * outcome and the activity are read from the words of the event id (the
 * catalog's ids say "failed", "successful", "logout"). docs/sinks.md lists
 * every field.
 *
 * Not here: trail's own JSON (json.c), the sinks that send these (daemon/).
 */
#include "codec/codec.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define OCSF_VERSION "1.1.0"
#define ECS_VERSION  "8.11.0"

/* ---- a small JSON writer that remembers the first failure ---- */

struct jw {
    struct trail_buf *out;
    int err;
    int need_comma; /* a member was written at this level */
};

static void raw(struct jw *w, const char *s, size_t n)
{
    if (!w->err && trail_buf_append(w->out, s, n) < 0)
        w->err = -ENOMEM;
}

static void lit(struct jw *w, const char *s)
{
    raw(w, s, strlen(s));
}

/* A JSON string, escaped as every JSON trail writes (trail_json_string). */
static void str(struct jw *w, const char *s, size_t n)
{
    if (!w->err && trail_json_string(w->out, s, n) < 0)
        w->err = -ENOMEM;
}

static void cstr(struct jw *w, const char *s)
{
    str(w, s, strlen(s));
}

static void key(struct jw *w, const char *k)
{
    if (w->need_comma)
        raw(w, ",", 1);
    cstr(w, k);
    raw(w, ":", 1);
    w->need_comma = 1;
}

static void open_obj(struct jw *w, const char *k)
{
    if (k)
        key(w, k);
    raw(w, "{", 1);
    w->need_comma = 0;
}

static void close_obj(struct jw *w)
{
    raw(w, "}", 1);
    w->need_comma = 1;
}

static void kv_str(struct jw *w, const char *k, const char *v, size_t n)
{
    key(w, k);
    str(w, v, n);
}

static void kv_cstr(struct jw *w, const char *k, const char *v)
{
    kv_str(w, k, v, strlen(v));
}

static void kv_i64(struct jw *w, const char *k, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof(b), "%lld", (long long)v);
    key(w, k);
    raw(w, b, (size_t)n);
}

static void kv_u64(struct jw *w, const char *k, uint64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
    key(w, k);
    raw(w, b, (size_t)n);
}

/* A typed value: int a number, bool true/false, everything else its text form. */
static void value(struct jw *w, const struct trail_value *v)
{
    char b[64];
    switch (v->type) {
    case TRAIL_TYPE_STRING:
    case TRAIL_TYPE_ENUM:
        str(w, v->u.str.ptr, v->u.str.len);
        return;
    case TRAIL_TYPE_INT: {
        int n = snprintf(b, sizeof(b), "%lld", (long long)v->u.i);
        raw(w, b, (size_t)n);
        return;
    }
    case TRAIL_TYPE_BOOL:
        lit(w, v->u.b ? "true" : "false");
        return;
    default: {
        size_t n = trail_value_format(v, b, sizeof(b));
        str(w, b, n < sizeof(b) ? n : sizeof(b) - 1);
        return;
    }
    }
}

/* ---- reading the event ---- */

static int attr(const struct trail_event *ev, const char *k, struct trail_value *v)
{
    return trail_event_attr_get(ev, k, v) == 0;
}

/* Write attribute k of ev as member name, when the event has it. Returns 1 when written. */
static int kv_attr(struct jw *w, const struct trail_event *ev, const char *name, const char *k)
{
    struct trail_value v;
    if (!attr(ev, k, &v))
        return 0;
    key(w, name);
    value(w, &v);
    return 1;
}

/* Port attributes as numbers whatever their declared type (a custom event may say string). */
static int kv_port(struct jw *w, const struct trail_event *ev, const char *name, const char *k)
{
    struct trail_value v;
    if (!attr(ev, k, &v))
        return 0;
    if (v.type == TRAIL_TYPE_INT) {
        kv_i64(w, name, v.u.i);
        return 1;
    }
    if (v.type == TRAIL_TYPE_STRING && v.u.str.len > 0 && v.u.str.len < 6) {
        int port = 0;
        for (size_t i = 0; i < v.u.str.len; i++) {
            if (!isdigit((unsigned char)v.u.str.ptr[i]))
                return 0;
            port = port * 10 + (v.u.str.ptr[i] - '0');
        }
        if (port <= 65535) {
            kv_i64(w, name, port);
            return 1;
        }
    }
    return 0;
}

static int has_any(const struct trail_event *ev, const char *const *keys)
{
    struct trail_value v;
    for (size_t i = 0; keys[i]; i++)
        if (attr(ev, keys[i], &v))
            return 1;
    return 0;
}

/* The words of the id, '_'-separated; calls fn on each until it returns non-zero. */
static int any_word(const char *id, int (*fn)(const char *w, size_t n))
{
    const char *p = id;
    while (*p) {
        const char *e = strchr(p, '_');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n && fn(p, n))
            return 1;
        p += n;
        if (*p == '_')
            p++;
    }
    return 0;
}

static int word_is(const char *w, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(w, s, n) == 0;
}

static int word_has(const char *w, size_t n, const char *s)
{
    size_t m = strlen(s);
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(w + i, s, m) == 0)
            return 1;
    return 0;
}

static int ends_with(const char *w, size_t n, const char *s)
{
    size_t m = strlen(s);
    return n >= m && memcmp(w + n - m, s, m) == 0;
}

static int failure_word(const char *w, size_t n)
{
    return ends_with(w, n, "failed") || word_is(w, n, "failure") || word_is(w, n, "cancelled") ||
           word_is(w, n, "declined") || word_is(w, n, "rejected") || word_has(w, n, "incorrect") ||
           ends_with(w, n, "denied") || word_is(w, n, "alreadyclaimed");
}

static int success_word(const char *w, size_t n)
{
    return word_is(w, n, "successful") || word_is(w, n, "success") || word_is(w, n, "succeeded") ||
           word_is(w, n, "ok") || word_is(w, n, "validated") || word_is(w, n, "accepted") ||
           word_is(w, n, "accessgranted") || word_is(w, n, "ssoperformed") ||
           word_is(w, n, "consentgiven");
}

int trail_event_outcome(const struct trail_event *ev)
{
    const char *id = trail_event_id(ev);
    if (any_word(id, failure_word))
        return 2;
    if (any_word(id, success_word))
        return 1;
    return 0;
}

static int logout_word(const char *w, size_t n)
{
    return n >= 6 && memcmp(w, "logout", 6) == 0;
}

static int logon_word(const char *w, size_t n)
{
    return word_is(w, n, "auth") || word_is(w, n, "authentication") ||
           word_is(w, n, "authenticators") || word_is(w, n, "authnrequest") ||
           word_is(w, n, "assertion") || word_is(w, n, "ssoperformed") || word_is(w, n, "login") ||
           word_is(w, n, "idtoken");
}

/* OCSF activity_id of class 3002: 1 Logon, 2 Logoff, 99 Other. */
static int ocsf_activity(const struct trail_event *ev)
{
    const char *id = trail_event_id(ev);
    if (any_word(id, logout_word))
        return 2;
    if (any_word(id, logon_word))
        return 1;
    return 99;
}

static const char *description(const struct trail_event *ev)
{
    const struct trail_event_def *def = trail_event_def(ev);
    return def ? def->description : trail_event_id(ev);
}

static void put_uuid(struct jw *w, const char *k, const struct trail_event *ev)
{
    uint8_t u[16];
    char text[37];
    if (trail_event_uuid(ev, u) < 0)
        return;
    trail_uuid_format(u, text);
    kv_cstr(w, k, text);
}

/* Every attribute verbatim as one object member each. */
static void all_attrs(struct jw *w, const struct trail_event *ev)
{
    size_t n = trail_event_attr_count(ev);
    for (size_t i = 0; i < n; i++) {
        const char *k;
        struct trail_value v;
        if (trail_event_attr_at(ev, i, &k, &v) < 0)
            continue;
        key(w, k);
        value(w, &v);
    }
}

static int finish(struct jw *w, size_t start)
{
    if (w->err) {
        w->out->len = start;
        if (w->out->data)
            w->out->data[start] = '\0';
        return w->err;
    }
    return 0;
}

/* ---- OCSF Authentication (3002) ---- */

static const char *ocsf_severity_name(int id)
{
    static const char *const names[] = {"Unknown", "Informational", "Low",  "Medium",
                                        "High",    "Critical",      "Fatal"};
    return id >= 0 && id <= 6 ? names[id] : "Other";
}

/* OCSF auth_protocol_id from the entrypoint type or the subsystem. */
static int ocsf_auth_protocol(const struct trail_event *ev, const char **ret_name)
{
    struct trail_value v;
    const char *id = trail_event_id(ev);
    if (attr(ev, "phxEntrypointType", &v) && v.type != TRAIL_TYPE_INT &&
        v.type != TRAIL_TYPE_BOOL) {
        if (v.u.str.len == 4 && memcmp(v.u.str.ptr, "OIDC", 4) == 0) {
            *ret_name = "OpenID";
            return 4;
        }
        if (v.u.str.len == 4 && memcmp(v.u.str.ptr, "SAML", 4) == 0) {
            *ret_name = "SAML";
            return 5;
        }
    }
    if (strstr(id, "radius") == id || strstr(id, "_radius") || strstr(id, "radius_")) {
        *ret_name = "RADIUS";
        return 10;
    }
    if (strncmp(id, "saml", 4) == 0 || strstr(id, "_saml_") || strstr(id, "_samlsp_")) {
        *ret_name = "SAML";
        return 5;
    }
    if (strncmp(id, "oidc", 4) == 0 || strstr(id, "_oidc_")) {
        *ret_name = "OpenID";
        return 4;
    }
    return 0;
}

int trail_event_to_ocsf(const struct trail_event *ev, struct trail_buf *out)
{
    static const char *const status_names[] = {"Unknown", "Success", "Failure"};
    struct jw w = {.out = out};
    size_t start = out->len;
    int activity = ocsf_activity(ev);
    int status = trail_event_outcome(ev);
    int sev = trail_severity_to_ocsf(trail_event_severity(ev));
    const char *id = trail_event_id(ev);
    char t[32];

    open_obj(&w, NULL);
    kv_i64(&w, "class_uid", 3002);
    kv_cstr(&w, "class_name", "Authentication");
    kv_i64(&w, "category_uid", 3);
    kv_cstr(&w, "category_name", "Identity & Access Management");
    kv_i64(&w, "activity_id", activity);
    kv_cstr(&w, "activity_name", activity == 1 ? "Logon" : activity == 2 ? "Logoff" : id);
    kv_i64(&w, "type_uid", 300200 + activity);
    key(&w, "type_name");
    {
        char tn[200];
        int n = snprintf(tn, sizeof(tn), "Authentication: %s",
                         activity == 1   ? "Logon"
                         : activity == 2 ? "Logoff"
                                         : "Other");
        str(&w, tn, (size_t)n);
    }
    kv_i64(&w, "status_id", status);
    kv_cstr(&w, "status", status_names[status]);
    kv_attr(&w, ev, "status_detail", "reason");
    kv_i64(&w, "severity_id", sev < 0 ? 0 : sev);
    kv_cstr(&w, "severity", ocsf_severity_name(sev < 0 ? 0 : sev));
    int64_t us = trail_event_time(ev);
    kv_i64(&w, "time", us >= 0 ? us / 1000 : -((-us + 999) / 1000));
    if (us) {
        size_t n = trail_time_format(us, t);
        kv_str(&w, "time_dt", t, n);
    }
    kv_cstr(&w, "message", description(ev));

    open_obj(&w, "metadata");
    kv_cstr(&w, "version", OCSF_VERSION);
    put_uuid(&w, "uid", ev);
    if (trail_event_seq(ev))
        kv_u64(&w, "sequence", trail_event_seq(ev));
    kv_cstr(&w, "event_code", id);
    kv_attr(&w, ev, "correlation_uid", "phxTraceId");
    kv_cstr(&w, "log_name", "trail");
    /* provenance: when trail received it and by which input */
    if (trail_event_received(ev)) {
        int64_t rus = trail_event_received(ev);
        kv_i64(&w, "logged_time", rus >= 0 ? rus / 1000 : -((-rus + 999) / 1000));
    }
    {
        char in[80];
        size_t n = trail_event_input_text(ev, in);
        if (n)
            kv_str(&w, "log_provider", in, n);
    }
    open_obj(&w, "product");
    kv_cstr(&w, "name", "trail");
    kv_cstr(&w, "vendor_name", "trail");
    kv_cstr(&w, "version", TRAIL_VERSION_STRING);
    close_obj(&w);
    close_obj(&w);

    static const char *const user_keys[] = {"duser", NULL};
    if (has_any(ev, user_keys)) {
        open_obj(&w, "user");
        kv_attr(&w, ev, "name", "duser");
        close_obj(&w);
    }
    static const char *const actor_keys[] = {"suser", NULL};
    if (has_any(ev, actor_keys)) {
        open_obj(&w, "actor");
        open_obj(&w, "user");
        kv_attr(&w, ev, "name", "suser");
        close_obj(&w);
        close_obj(&w);
    }
    static const char *const src_keys[] = {"src", "spt", "shost", NULL};
    if (has_any(ev, src_keys)) {
        open_obj(&w, "src_endpoint");
        kv_attr(&w, ev, "ip", "src");
        kv_port(&w, ev, "port", "spt");
        kv_attr(&w, ev, "hostname", "shost");
        close_obj(&w);
    }
    /* the sender trail received it from, and who it authenticated as */
    if (trail_event_peer(ev)->family || trail_event_principal(ev)[0]) {
        char peer[48];
        open_obj(&w, "device");
        if (trail_peer_address(trail_event_peer(ev), peer))
            kv_cstr(&w, "ip", peer);
        if (trail_event_host(ev)[0])
            kv_cstr(&w, "hostname", trail_event_host(ev));
        if (trail_event_principal(ev)[0]) {
            open_obj(&w, "owner");
            kv_cstr(&w, "name", trail_event_principal(ev));
            close_obj(&w);
        }
        close_obj(&w);
    }
    /* the destination is the identity server: its host, or the dst/dhost/dpt it reports */
    open_obj(&w, "dst_endpoint");
    if (!kv_attr(&w, ev, "hostname", "dhost") && trail_event_host(ev)[0])
        kv_cstr(&w, "hostname", trail_event_host(ev));
    kv_attr(&w, ev, "ip", "dst");
    kv_port(&w, ev, "port", "dpt");
    kv_attr(&w, ev, "svc_name", "phxEntrypointId");
    close_obj(&w);
    static const char *const http_keys[] = {"requestClientApplication", "requestMethod", "request",
                                            NULL};
    if (has_any(ev, http_keys)) {
        open_obj(&w, "http_request");
        kv_attr(&w, ev, "user_agent", "requestClientApplication");
        kv_attr(&w, ev, "http_method", "requestMethod");
        struct trail_value v;
        if (attr(ev, "request", &v)) {
            open_obj(&w, "url");
            key(&w, "url_string");
            value(&w, &v);
            close_obj(&w);
        }
        close_obj(&w);
    }
    static const char *const svc_keys[] = {"sourceServiceName", NULL};
    if (has_any(ev, svc_keys)) {
        open_obj(&w, "service");
        kv_attr(&w, ev, "name", "sourceServiceName");
        close_obj(&w);
    }
    const char *proto = NULL;
    int proto_id = ocsf_auth_protocol(ev, &proto);
    kv_i64(&w, "auth_protocol_id", proto_id);
    kv_cstr(&w, "auth_protocol", proto ? proto : "Unknown");
    open_obj(&w, "unmapped");
    all_attrs(&w, ev);
    close_obj(&w);
    close_obj(&w);
    return finish(&w, start);
}

/* ---- ECS ---- */

int trail_event_to_ecs(const struct trail_event *ev, struct trail_buf *out)
{
    static const char *const outcomes[] = {"unknown", "success", "failure"};
    struct jw w = {.out = out};
    size_t start = out->len;
    const char *id = trail_event_id(ev);
    int outcome = trail_event_outcome(ev);
    int activity = ocsf_activity(ev);
    char t[32];

    open_obj(&w, NULL);
    int64_t us = trail_event_time(ev);
    if (us) {
        size_t n = trail_time_format(us, t);
        kv_str(&w, "@timestamp", t, n);
    }
    kv_cstr(&w, "message", description(ev));
    open_obj(&w, "ecs");
    kv_cstr(&w, "version", ECS_VERSION);
    close_obj(&w);
    open_obj(&w, "event");
    kv_cstr(&w, "kind", "event");
    key(&w, "category");
    lit(&w, activity == 99 ? "[\"iam\"]" : "[\"authentication\"]");
    key(&w, "type");
    lit(&w, activity == 1 ? "[\"start\"]" : activity == 2 ? "[\"end\"]" : "[\"info\"]");
    kv_cstr(&w, "action", id);
    kv_cstr(&w, "code", id);
    kv_cstr(&w, "outcome", outcomes[outcome]);
    kv_i64(&w, "severity", trail_event_severity(ev));
    put_uuid(&w, "id", ev);
    if (trail_event_seq(ev))
        kv_u64(&w, "sequence", trail_event_seq(ev));
    kv_attr(&w, ev, "reason", "reason");
    kv_cstr(&w, "module", "trail");
    kv_cstr(&w, "dataset", "trail.audit");
    if (trail_event_received(ev)) {
        char rt[40];
        size_t rn = trail_time_format(trail_event_received(ev), rt);
        kv_str(&w, "ingested", rt, rn);
    }
    close_obj(&w);
    {
        char in[80];
        size_t n = trail_event_input_text(ev, in);
        if (n) {
            open_obj(&w, "input");
            kv_str(&w, "type", in, n);
            close_obj(&w);
        }
    }
    open_obj(&w, "log");
    const char *lvl = trail_severity_to_ecs(trail_event_severity(ev));
    kv_cstr(&w, "level", lvl ? lvl : "info");
    {
        char peer[48];
        size_t n = trail_peer_format(trail_event_peer(ev), peer);
        if (n) {
            open_obj(&w, "source");
            kv_str(&w, "address", peer, n);
            close_obj(&w);
        }
    }
    close_obj(&w);
    if (trail_event_principal(ev)[0] || trail_event_is_own(ev)) {
        open_obj(&w, "labels");
        if (trail_event_principal(ev)[0])
            kv_cstr(&w, "trail_principal", trail_event_principal(ev));
        if (trail_event_is_own(ev))
            kv_cstr(&w, "trail_origin", "trail");
        close_obj(&w);
    }
    if (trail_event_host(ev)[0]) {
        open_obj(&w, "host");
        kv_cstr(&w, "name", trail_event_host(ev));
        close_obj(&w);
    }
    static const char *const user_keys[] = {"duser", "suser", NULL};
    if (has_any(ev, user_keys)) {
        open_obj(&w, "user");
        kv_attr(&w, ev, "name", "duser");
        struct trail_value v;
        if (attr(ev, "suser", &v)) {
            open_obj(&w, "changes");
            key(&w, "name");
            value(&w, &v);
            close_obj(&w);
        }
        close_obj(&w);
    }
    static const char *const src_keys[] = {"src", "spt", "shost", NULL};
    if (has_any(ev, src_keys)) {
        open_obj(&w, "source");
        kv_attr(&w, ev, "ip", "src");
        kv_attr(&w, ev, "address", "src");
        kv_port(&w, ev, "port", "spt");
        kv_attr(&w, ev, "domain", "shost");
        close_obj(&w);
    }
    static const char *const dst_keys[] = {"dst", "dpt", "dhost", NULL};
    if (has_any(ev, dst_keys)) {
        open_obj(&w, "destination");
        kv_attr(&w, ev, "ip", "dst");
        kv_port(&w, ev, "port", "dpt");
        kv_attr(&w, ev, "domain", "dhost");
        close_obj(&w);
    }
    static const char *const ua_keys[] = {"requestClientApplication", NULL};
    if (has_any(ev, ua_keys)) {
        open_obj(&w, "user_agent");
        kv_attr(&w, ev, "original", "requestClientApplication");
        close_obj(&w);
    }
    static const char *const method_keys[] = {"requestMethod", NULL};
    if (has_any(ev, method_keys)) {
        open_obj(&w, "http");
        open_obj(&w, "request");
        kv_attr(&w, ev, "method", "requestMethod");
        close_obj(&w);
        close_obj(&w);
    }
    static const char *const url_keys[] = {"request", NULL};
    if (has_any(ev, url_keys)) {
        open_obj(&w, "url");
        kv_attr(&w, ev, "original", "request");
        close_obj(&w);
    }
    static const char *const trace_keys[] = {"phxTraceId", NULL};
    if (has_any(ev, trace_keys)) {
        open_obj(&w, "trace");
        kv_attr(&w, ev, "id", "phxTraceId");
        close_obj(&w);
    }
    static const char *const svc_keys[] = {"sourceServiceName", NULL};
    if (has_any(ev, svc_keys)) {
        open_obj(&w, "service");
        open_obj(&w, "target");
        kv_attr(&w, ev, "name", "sourceServiceName");
        close_obj(&w);
        close_obj(&w);
    }
    open_obj(&w, "trail");
    open_obj(&w, "attrs");
    all_attrs(&w, ev);
    close_obj(&w);
    close_obj(&w);
    close_obj(&w);
    return finish(&w, start);
}

int trail_event_to_mapped(const struct trail_event *ev, int mapping, struct trail_buf *out)
{
    switch (mapping) {
    case TRAIL_MAPPING_NONE:
        return trail_event_to_json(ev, out);
    case TRAIL_MAPPING_OCSF:
        return trail_event_to_ocsf(ev, out);
    case TRAIL_MAPPING_ECS:
        return trail_event_to_ecs(ev, out);
    default:
        return -EINVAL;
    }
}

int trail_mapping_parse(const char *name, int *ret_mapping)
{
    if (!strcasecmp(name, "none") || !strcasecmp(name, "trail"))
        *ret_mapping = TRAIL_MAPPING_NONE;
    else if (!strcasecmp(name, "ocsf"))
        *ret_mapping = TRAIL_MAPPING_OCSF;
    else if (!strcasecmp(name, "ecs"))
        *ret_mapping = TRAIL_MAPPING_ECS;
    else
        return -EINVAL;
    return 0;
}
