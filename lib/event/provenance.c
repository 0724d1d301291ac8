/*
 * provenance.c - where a record came from: the input, the peer, the
 * authenticated principal, the time trail received it, and the mark of
 * trail's own records. docs/format.md ("Record") has how they are stored.
 *
 * Whoever receives an event sets these (traild's inputs, trail import, a
 * program with its own store); the decoders never do, so nothing a sender
 * writes can claim another input, peer or principal, or trail's own mark.
 *
 * Not for: the host (event.c; a sender may say it), the record's bytes
 * (record.c).
 */
#include "base/bytes.h"
#include "event/event.h"

#include <arpa/inet.h>
#include <stdio.h>

static const char *const input_names[TRAIL_INPUT_LAST] = {
    [TRAIL_INPUT_NONE] = "",
    [TRAIL_INPUT_LIBRARY] = "library",
    [TRAIL_INPUT_IMPORT] = "import",
    [TRAIL_INPUT_HTTP] = "http",
    [TRAIL_INPUT_SYSLOG_UDP] = "syslog_udp",
    [TRAIL_INPUT_SYSLOG_TCP] = "syslog_tcp",
    [TRAIL_INPUT_SYSLOG_TLS] = "syslog_tls",
    [TRAIL_INPUT_CEF_TCP] = "cef_tcp",
    [TRAIL_INPUT_UNIX] = "unix",
    [TRAIL_INPUT_FOLLOW] = "follow",
    [TRAIL_INPUT_TRAIL] = "trail",
};

const char *trail_input_name(int input)
{
    return input >= 0 && input < TRAIL_INPUT_LAST ? input_names[input] : NULL;
}

int trail_input_parse(const char *name, size_t len)
{
    if (len == (size_t)-1)
        len = strlen(name);
    for (int i = 1; i < TRAIL_INPUT_LAST; i++)
        if (strlen(input_names[i]) == len && memcmp(input_names[i], name, len) == 0)
            return i;
    return -1;
}

int trail_event_set_input(struct trail_event *ev, int input, const char *name, size_t len)
{
    if (input < TRAIL_INPUT_NONE || input >= TRAIL_INPUT_LAST || input == TRAIL_INPUT_TRAIL)
        return event_errorf(ev, TRAIL_E_BAD_TYPE, "input %d cannot be set", input);
    if (!name)
        len = 0;
    else if (len == (size_t)-1)
        len = strlen(name);
    if (len > TRAIL_MAX_INPUT_NAME)
        return event_errorf(ev, TRAIL_E_VALUE_TOO_LONG, "input name is longer than %d bytes",
                            TRAIL_MAX_INPUT_NAME);
    if (len && !trail_key_valid(name, len))
        return event_errorf(ev, TRAIL_E_BAD_KEY, "input name is not [A-Za-z0-9_.-]");
    ev->input = (uint8_t)input;
    if (len)
        memcpy(ev->input_name, name, len);
    ev->input_name[len] = '\0';
    ev->input_name_len = (uint8_t)len;
    return 0;
}

void trail_event_set_peer(struct trail_event *ev, const struct trail_peer *peer)
{
    if (!peer || (peer->family != 4 && peer->family != 6)) {
        ev->peer.family = 0;
        return;
    }
    ev->peer = *peer;
    if (peer->family == 4)
        memset(ev->peer.addr + 4, 0, 12);
}

int trail_event_set_principal(struct trail_event *ev, const char *principal, size_t len)
{
    if (!principal)
        len = 0;
    else if (len == (size_t)-1)
        len = strlen(principal);
    if (len > TRAIL_MAX_PRINCIPAL_LEN) {
        len = TRAIL_MAX_PRINCIPAL_LEN;
        while (len > 0 && ((unsigned char)principal[len] & 0xC0) == 0x80)
            len--;
    }
    if (len && !utf8_valid(principal, len))
        return event_errorf(ev, TRAIL_E_UTF8, "principal is not valid UTF-8");
    if (len)
        memcpy(ev->principal, principal, len);
    ev->principal[len] = '\0';
    ev->principal_len = (uint8_t)len;
    return 0;
}

void trail_event_set_received(struct trail_event *ev, int64_t time_us)
{
    ev->received_us = time_us;
}

void trail_event_mark_own(struct trail_event *ev)
{
    ev->own = true;
    ev->input = TRAIL_INPUT_TRAIL;
    ev->input_name_len = 0;
    ev->input_name[0] = '\0';
    ev->peer.family = 0;
    ev->principal_len = 0;
    ev->principal[0] = '\0';
}

int trail_event_input(const struct trail_event *ev, const char **ret_name)
{
    if (ret_name)
        *ret_name = ev->input_name;
    return ev->input;
}

const struct trail_peer *trail_event_peer(const struct trail_event *ev)
{
    return &ev->peer;
}

const char *trail_event_principal(const struct trail_event *ev)
{
    return ev->principal;
}

int64_t trail_event_received(const struct trail_event *ev)
{
    return ev->received_us;
}

int trail_event_is_own(const struct trail_event *ev)
{
    return ev->own;
}

int trail_event_requested_severity(const struct trail_event *ev)
{
    return ev->requested_severity;
}

uint64_t trail_event_duplicate_of(const struct trail_event *ev)
{
    return ev->dup_of;
}

const char *trail_event_problems(const struct trail_event *ev)
{
    return ev->problems;
}

size_t event_input_text(int input, const char *name, size_t name_len, char out[80])
{
    const char *in = trail_input_name(input);
    size_t a = in ? strlen(in) : 0, b = strnlen(name, name_len), c = name_len ? 1 : 0;
    if (a + c + b < 80) {
        /* without printf: an export writes this for every row */
        memcpy(out, in ? in : "", a);
        memcpy(out + a, ":", c);
        memcpy(out + a + c, name, b);
        out[a + c + b] = '\0';
        return a + c + b;
    }
    int n = snprintf(out, 80, "%s%s%.*s", in ? in : "", c ? ":" : "", (int)b, name);
    return n > 0 && n < 80 ? (size_t)n : 0;
}

size_t trail_event_input_text(const struct trail_event *ev, char out[80])
{
    return event_input_text(ev->own ? TRAIL_INPUT_TRAIL : ev->input, ev->input_name,
                            ev->input_name_len, out);
}

size_t trail_peer_address(const struct trail_peer *peer, char out[48])
{
    out[0] = '\0';
    if (!peer || (peer->family != 4 && peer->family != 6))
        return 0;
    return ip_format(peer->family, peer->addr, out);
}

size_t trail_peer_format(const struct trail_peer *peer, char out[48])
{
    out[0] = '\0';
    if (!peer || (peer->family != 4 && peer->family != 6))
        return 0;
    /* a.b.c.d:port or [v6]:port, without printf (a row of an export writes it) */
    char *p = out;
    if (peer->family == 6)
        *p++ = '[';
    p += ip_format(peer->family, peer->addr, p);
    if (peer->family == 6)
        *p++ = ']';
    *p++ = ':';
    char tmp[8], *t = tmp + sizeof(tmp);
    unsigned port = peer->port;
    do {
        *--t = (char)('0' + port % 10);
        port /= 10;
    } while (port);
    memcpy(p, t, (size_t)(tmp + sizeof(tmp) - t));
    p += tmp + sizeof(tmp) - t;
    *p = '\0';
    return (size_t)(p - out);
}

/* ---- the hops of a relayed event (docs/format.md "Relayed records") ---- */

int origin_text_ok(const char *s, size_t len)
{
    if (len < 1 || len > TRAIL_ORIGIN_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f || s[i] == '+')
            return 0;
    return 1;
}

/*
 * A hop, in the record and in an event's via bytes:
 *
 *     1 + n   origin: length (1..128), bytes (origin_text_ok)
 *     8       seq (u64) in that trail
 *     8       received (i64), µs since the epoch, in that trail
 *     1       input (1..9: not none, not trail)
 *     1 + n   input name: length (0..64), bytes of [A-Za-z0-9_.-]
 *     1       peer family: 0, 4 or 6; then 4 or 16 address bytes and a u16 port
 *     1 + n   principal: length (0..255), UTF-8
 */
size_t hop_parse(const uint8_t *p, const uint8_t *end, struct hop *h)
{
    const uint8_t *start = p;
    if (p >= end)
        return 0;
    h->origin_len = *p++;
    h->origin = (const char *)p;
    if ((size_t)(end - p) < h->origin_len + 16 + 2 || !origin_text_ok(h->origin, h->origin_len))
        return 0;
    p += h->origin_len;
    h->seq = get_u64(p);
    h->received_us = (int64_t)get_u64(p + 8);
    p += 16;
    h->input = *p++;
    if (h->input == TRAIL_INPUT_NONE || h->input == TRAIL_INPUT_TRAIL ||
        h->input >= TRAIL_INPUT_LAST)
        return 0;
    h->input_name_len = *p++;
    h->input_name = (const char *)p;
    if (h->input_name_len > TRAIL_MAX_INPUT_NAME || (size_t)(end - p) < h->input_name_len + 1 ||
        (h->input_name_len && !trail_key_valid(h->input_name, h->input_name_len)))
        return 0;
    p += h->input_name_len;
    memset(&h->peer, 0, sizeof(h->peer));
    h->peer.family = *p++;
    if (h->peer.family == 4 || h->peer.family == 6) {
        size_t alen = h->peer.family == 4 ? 4 : 16;
        if ((size_t)(end - p) < alen + 2)
            return 0;
        memcpy(h->peer.addr, p, alen);
        h->peer.port = get_u16(p + alen);
        p += alen + 2;
    } else if (h->peer.family != 0) {
        return 0;
    }
    if (p >= end)
        return 0;
    h->principal_len = *p++;
    h->principal = (const char *)p;
    if ((size_t)(end - p) < h->principal_len ||
        (h->principal_len && !utf8_valid(h->principal, h->principal_len)))
        return 0;
    p += h->principal_len;
    return (size_t)(p - start);
}

size_t hop_size(const struct hop *h)
{
    return 1 + h->origin_len + 16 + 1 + 1 + h->input_name_len + 1 +
           (h->peer.family == 4   ? 6
            : h->peer.family == 6 ? 18
                                  : 0) +
           1 + h->principal_len;
}

void hop_write(const struct hop *h, uint8_t *out)
{
    uint8_t *p = out;
    *p++ = (uint8_t)h->origin_len;
    memcpy(p, h->origin, h->origin_len);
    p += h->origin_len;
    put_u64(p, h->seq);
    put_u64(p + 8, (uint64_t)h->received_us);
    p += 16;
    *p++ = (uint8_t)h->input;
    *p++ = (uint8_t)h->input_name_len;
    memcpy(p, h->input_name, h->input_name_len);
    p += h->input_name_len;
    *p++ = h->peer.family;
    if (h->peer.family == 4 || h->peer.family == 6) {
        size_t alen = h->peer.family == 4 ? 4 : 16;
        memcpy(p, h->peer.addr, alen);
        put_u16(p + alen, h->peer.port);
        p += alen + 2;
    }
    *p++ = (uint8_t)h->principal_len;
    memcpy(p, h->principal, h->principal_len);
}

int event_set_via(struct trail_event *ev, const uint8_t *bytes, size_t len, int n)
{
    if (n <= 0 || len == 0) {
        ev->n_via = 0;
        ev->via_len = 0;
        return 0;
    }
    if (n > TRAIL_MAX_HOPS || len > UINT16_MAX)
        return event_errorf(ev, TRAIL_E_TOO_LARGE, "more than %d hops", TRAIL_MAX_HOPS);
    uint32_t off;
    int r = event_arena_put(ev, bytes, len, &off);
    if (r < 0)
        return r;
    ev->via_off = off;
    ev->via_len = (uint16_t)len;
    ev->n_via = (uint8_t)n;
    return 0;
}

int trail_event_hops(const struct trail_event *ev)
{
    return ev->n_via;
}
