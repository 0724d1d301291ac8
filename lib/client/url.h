/*
 * url.h - the one URL parser of trail's clients: "http[s]://HOST[:PORT][/PATH]",
 * as the CLI's --url, trail_client_open() and the webhook and ClickHouse
 * sinks take it.
 *
 * Not here: connections (net.h), HTTP (http.h).
 */
#ifndef TRAIL_CLIENT_URL_H
#define TRAIL_CLIENT_URL_H

#include <stddef.h>

/* A parsed URL. */
struct client_url {
    int https;       /* 1: https://, 0: http:// */
    char host[256];  /* without the brackets of an IPv6 literal */
    char port[8];    /* as given, or 80 / 443 */
    char path[1024]; /* from the first '/' or '?', with the query; "/" when none */
};

/*
 * client_url_parse - "http[s]://HOST[:PORT][/PATH][?QUERY]"; HOST may be
 * "[IPv6]". No user info, no fragment. Returns 0, -EINVAL for anything else.
 */
int client_url_parse(const char *text, struct client_url *ret_url);

/*
 * client_url_prefix - the URL's path without its query and trailing '/'
 * ("" for "/"), into out (size n): what an API path is appended to.
 */
void client_url_prefix(const struct client_url *u, char *out, size_t n);

#endif /* TRAIL_CLIENT_URL_H */
