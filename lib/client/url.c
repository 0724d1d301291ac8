/*
 * url.c - the one URL parser of trail's clients (url.h): the CLI, the C
 * client and the HTTP sinks read "http[s]://HOST[:PORT][/PATH]" here.
 *
 * Not here: resolving or connecting (net.c).
 */
#include "client/url.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int client_url_parse(const char *text, struct client_url *ret_url)
{
    struct client_url u;
    memset(&u, 0, sizeof(u));
    const char *p;
    if (!text)
        return -EINVAL;
    if (!strncmp(text, "http://", 7)) {
        p = text + 7;
        strcpy(u.port, "80");
    } else if (!strncmp(text, "https://", 8)) {
        p = text + 8;
        u.https = 1;
        strcpy(u.port, "443");
    } else {
        return -EINVAL;
    }
    size_t hl = strcspn(p, "/?#");
    if (p[hl] == '#' || strchr(p, '#'))
        return -EINVAL;
    const char *end = p + hl, *colon = NULL;
    if (!hl || memchr(p, '@', hl) || memchr(p, ' ', hl))
        return -EINVAL;
    if (*p == '[') {
        const char *close = memchr(p, ']', hl);
        if (!close || close == p + 1 || (size_t)(close - p - 1) >= sizeof(u.host))
            return -EINVAL;
        memcpy(u.host, p + 1, (size_t)(close - p - 1));
        if (close + 1 < end) {
            if (close[1] != ':')
                return -EINVAL;
            colon = close + 1;
        }
    } else {
        colon = memchr(p, ':', hl);
        size_t n = colon ? (size_t)(colon - p) : hl;
        if (!n || n >= sizeof(u.host))
            return -EINVAL;
        memcpy(u.host, p, n);
    }
    if (colon) {
        size_t n = (size_t)(end - colon - 1);
        if (!n || n > 5 || strspn(colon + 1, "0123456789") < n)
            return -EINVAL;
        unsigned port = 0;
        for (size_t i = 0; i < n; i++)
            port = port * 10 + (unsigned)(colon[1 + i] - '0');
        if (port == 0 || port > 65535)
            return -EINVAL;
        snprintf(u.port, sizeof(u.port), "%u", port);
    }
    if (strlen(end) + 2 > sizeof(u.path) || strpbrk(end, " \r\n\t"))
        return -EINVAL;
    if (!*end)
        strcpy(u.path, "/");
    else if (*end == '?')
        snprintf(u.path, sizeof(u.path), "/%s", end);
    else
        snprintf(u.path, sizeof(u.path), "%s", end);
    *ret_url = u;
    return 0;
}

void client_url_prefix(const struct client_url *u, char *out, size_t n)
{
    size_t len = strcspn(u->path, "?");
    while (len && u->path[len - 1] == '/')
        len--;
    snprintf(out, n, "%.*s", (int)len, u->path);
}
