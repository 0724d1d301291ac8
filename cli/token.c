/*
 * token.c - `trail token-hash`: make a bearer token for traild's HTTP API
 * and the [tokens] entry that lets traild recognise it without keeping it.
 *
 * The entry is "NAME = ROLE:SALT:HASH": SALT 16 random bytes as hex, HASH
 * the hex SHA-256 of SALT's bytes followed by the token's bytes, the form
 * daemon/core/auth.c checks (tests/integration/security_auth.sh sends tokens
 * made here to traild, so the two cannot drift apart unnoticed).
 *
 * Not here: checking tokens (daemon/core/auth.c).
 */
#include "cli.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MIN 32  /* characters of a token read from stdin */
#define TOKEN_MAX 512 /* traild refuses longer ones unread */

static const char help[] =
    "NAME\n"
    "    trail token-hash - make a bearer token for traild and its [tokens] entry\n"
    "\n"
    "SYNOPSIS\n"
    "    trail token-hash NAME ROLE [--stdin]\n"
    "\n"
    "DESCRIPTION\n"
    "    Makes a token of 256 random bits (43 characters, base64url) and prints:\n"
    "\n"
    "        line 1: the token, for the client (Authorization: Bearer TOKEN,\n"
    "                trail query --token, TRAIL_TOKEN); it is printed once and\n"
    "                kept nowhere;\n"
    "        line 2: the entry for the [tokens] section of trail.conf:\n"
    "                NAME = ROLE:SALT:HASH\n"
    "\n"
    "    SALT is 16 random bytes and HASH is SHA-256(SALT || token), both in\n"
    "    hex: the config file holds no token. ROLE is write (send events), read\n"
    "    (query, stream, catalog, proofs, checkpoints, metrics), admin\n"
    "    (everything, and sinks, reload and verification runs) or relay (another\n"
    "    traild's `type = trail` sink: send events with the provenance it\n"
    "    recorded, docs/sinks.md). A reload\n"
    "    (SIGHUP) takes new entries in; removing an entry revokes its token.\n"
    "\n"
    "    --stdin  read the token from the first line of standard input instead\n"
    "             (at least 32 characters; printable ASCII, no spaces) and\n"
    "             print only the entry\n"
    "\n"
    "EXAMPLE\n"
    "    trail token-hash idp-node1 write\n"
    "\n"
    "EXIT STATUS\n"
    "    0 on success, 1 when no random bytes or no token could be read, 2 for\n"
    "    bad usage.\n";

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void base64url(const uint8_t *p, size_t n, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = acc << 8 | p[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = abc[(acc >> bits) & 63];
        }
    }
    if (bits)
        out[o++] = abc[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

int cmd_token_hash(int argc, char **argv)
{
    const char *name = NULL, *role = NULL;
    int from_stdin = 0;
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--stdin"))
            from_stdin = 1;
        else if (argv[i][0] == '-')
            return cli_usage_error("token-hash", "unknown option %s (see --help)", argv[i]);
        else if (!name)
            name = argv[i];
        else if (!role)
            role = argv[i];
        else
            return cli_usage_error("token-hash", "too many arguments (see --help)");
    }
    if (!name || !role)
        return cli_usage_error("token-hash", "NAME and ROLE are needed (see --help)");
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.-@", *p))
            return cli_usage_error("token-hash", "a token name is made of [A-Za-z0-9_.@-]");
    if (strcmp(role, "write") && strcmp(role, "read") && strcmp(role, "admin") &&
        strcmp(role, "relay"))
        return cli_usage_error("token-hash", "role '%s' is not one of: write, read, admin, relay",
                               role);

    char token[TOKEN_MAX + 2];
    uint8_t salt[16], digest[SHA256_DIGEST_LENGTH], buf[sizeof(salt) + TOKEN_MAX];
    if (from_stdin) {
        if (!fgets(token, sizeof(token), stdin))
            return cli_fail("token-hash", "no token on standard input");
        token[strcspn(token, "\r\n")] = '\0';
        size_t n = strlen(token);
        if (n < TOKEN_MIN || n > TOKEN_MAX)
            return cli_fail("token-hash", "a token of %d to %d characters is needed", TOKEN_MIN,
                            TOKEN_MAX);
        for (size_t i = 0; i < n; i++)
            if (token[i] <= ' ' || token[i] > '~')
                return cli_fail("token-hash", "a token is printable ASCII without spaces");
    } else {
        uint8_t raw[32];
        if (RAND_bytes(raw, sizeof(raw)) != 1)
            return cli_fail("token-hash", "no random bytes from OpenSSL");
        base64url(raw, sizeof(raw), token);
        OPENSSL_cleanse(raw, sizeof(raw));
    }
    if (RAND_bytes(salt, sizeof(salt)) != 1)
        return cli_fail("token-hash", "no random bytes from OpenSSL");
    size_t n = strlen(token);
    memcpy(buf, salt, sizeof(salt));
    memcpy(buf + sizeof(salt), token, n);
    SHA256(buf, sizeof(salt) + n, digest);
    OPENSSL_cleanse(buf, sizeof(buf));
    char salt_hex[2 * sizeof(salt) + 1], hash_hex[2 * sizeof(digest) + 1];
    hex(salt, sizeof(salt), salt_hex);
    hex(digest, sizeof(digest), hash_hex);
    if (!from_stdin)
        printf("%s\n", token);
    printf("%s = %s:%s:%s\n", name, role, salt_hex, hash_hex);
    OPENSSL_cleanse(token, sizeof(token));
    return fflush(stdout) == 0 ? 0 : 1;
}
