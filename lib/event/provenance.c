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

size_t trail_event_input_text(const struct trail_event *ev, char out[80])
{
    const char *in = trail_input_name(ev->own ? TRAIL_INPUT_TRAIL : ev->input);
    int n =
        snprintf(out, 80, "%s%s%s", in ? in : "", ev->input_name_len ? ":" : "", ev->input_name);
    return n > 0 && n < 80 ? (size_t)n : 0;
}

size_t trail_peer_address(const struct trail_peer *peer, char out[48])
{
    out[0] = '\0';
    if (!peer || (peer->family != 4 && peer->family != 6) ||
        !inet_ntop(peer->family == 4 ? AF_INET : AF_INET6, peer->addr, out, 48))
        return 0;
    return strlen(out);
}

size_t trail_peer_format(const struct trail_peer *peer, char out[48])
{
    char ip[48];
    out[0] = '\0';
    if (!trail_peer_address(peer, ip))
        return 0;
    int n = snprintf(out, 48, peer->family == 4 ? "%s:%u" : "[%s]:%u", ip, (unsigned)peer->port);
    return n > 0 && n < 48 ? (size_t)n : 0;
}
