/*
 * util.c - small checks and conversions shared by the event model and the
 * codecs: UTF-8, key and id forms, IP text, random bytes and uuids.
 */
#include "base/base.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <errno.h>
#include <stdio.h>
#include <sys/random.h>

/* The byte classes of keys and ids (base.h), for checks in one pass. */
const uint8_t char_class[256] = {
    ['a' ... 'z'] = TRAIL_CC_KEY | TRAIL_CC_ID,
    ['0' ... '9'] = TRAIL_CC_KEY | TRAIL_CC_ID,
    ['_'] = TRAIL_CC_KEY | TRAIL_CC_ID,
    ['A' ... 'Z'] = TRAIL_CC_KEY,
    ['.'] = TRAIL_CC_KEY,
    ['-'] = TRAIL_CC_KEY,
};

int utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        /* ASCII runs, eight bytes at a time */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + n >= len) /* truncated sequence */
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += n + 1;
    }
    return 1;
}

int trail_key_valid(const char *key, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

int trail_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > TRAIL_MAX_ID_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

int ip_parse(const char *text, size_t len, uint8_t *ret_family, uint8_t ret_addr[16])
{
    char tmp[64];
    uint8_t addr[16] = {0};
    if (len == 0 || len >= sizeof(tmp))
        return TRAIL_E_BAD_TYPE;
    memcpy(tmp, text, len);
    tmp[len] = '\0';
    if (inet_pton(AF_INET, tmp, addr) == 1) {
        *ret_family = 4;
    } else if (inet_pton(AF_INET6, tmp, addr) == 1) {
        *ret_family = 6;
    } else {
        return TRAIL_E_BAD_TYPE;
    }
    memcpy(ret_addr, addr, 16);
    return 0;
}

static char ip4_text[256][4]; /* each byte's digits and a '.' */
static uint8_t ip4_len[256];
static pthread_once_t ip4_once = PTHREAD_ONCE_INIT;

static void make_ip4_text(void)
{
    for (unsigned b = 0; b < 256; b++) {
        char *p = ip4_text[b];
        if (b >= 100)
            *p++ = (char)('0' + b / 100);
        if (b >= 10)
            *p++ = (char)('0' + b / 10 % 10);
        *p++ = (char)('0' + b % 10);
        *p++ = '.';
        ip4_len[b] = (uint8_t)(p - ip4_text[b]);
    }
}

/* a.b.c.d (no leading zeros) at p (room for 16 bytes); returns the end */
static char *ip4_at(char *p, const uint8_t a[4])
{
    pthread_once(&ip4_once, make_ip4_text);
    for (int i = 0; i < 4; i++) {
        memcpy(p, ip4_text[a[i]], 4);
        p += ip4_len[a[i]];
    }
    return p - 1;
}

/*
 * What glibc's inet_ntop() writes, without its sprintf per group (exports
 * format an address or two a row): IPv4 dotted; IPv6 as lower-case hex
 * groups without leading zeros, the first longest run of two or more zero
 * groups as "::", and ::a.b.c.d and ::ffff:a.b.c.d with the IPv4 part
 * dotted. tests/unit/test_event.c holds it to inet_ntop() itself.
 */
size_t ip_format(int family, const uint8_t addr[16], char out[46])
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    if (family == 4) {
        p = ip4_at(p, addr);
    } else if (family == 6) {
        unsigned w[8];
        int best = -1, best_len = 0, cur = -1, cur_len = 0;
        for (int i = 0; i < 8; i++) {
            w[i] = (unsigned)addr[2 * i] << 8 | addr[2 * i + 1];
            if (w[i] == 0) {
                if (cur < 0)
                    cur = i, cur_len = 0;
                if (++cur_len > best_len)
                    best = cur, best_len = cur_len;
            } else {
                cur = -1;
            }
        }
        if (best_len < 2)
            best = -1;
        for (int i = 0; i < 8; i++) {
            if (best >= 0 && i >= best && i < best + best_len) {
                if (i == best)
                    *p++ = ':';
                continue;
            }
            if (i)
                *p++ = ':';
            if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
                p = ip4_at(p, addr + 12);
                break;
            }
            int shift = w[i] >= 0x1000 ? 12 : w[i] >= 0x100 ? 8 : w[i] >= 0x10 ? 4 : 0;
            for (; shift >= 0; shift -= 4)
                *p++ = hex[w[i] >> shift & 15];
        }
        if (best >= 0 && best + best_len == 8)
            *p++ = ':';
    }
    *p = '\0';
    return (size_t)(p - out);
}

/* A per-thread pool so that a uuid per event costs no system call. */
static _Thread_local uint8_t pool[4096];
static _Thread_local size_t pool_left;

int random_bytes(void *buf, size_t n)
{
    uint8_t *out = buf;
    while (n > 0) {
        if (pool_left == 0) {
            size_t got = 0;
            while (got < sizeof(pool)) {
                ssize_t r = getrandom(pool + got, sizeof(pool) - got, 0);
                if (r < 0) {
                    if (errno == EINTR)
                        continue;
                    return -errno;
                }
                got += (size_t)r;
            }
            pool_left = sizeof(pool);
        }
        size_t take = n < pool_left ? n : pool_left;
        memcpy(out, pool + sizeof(pool) - pool_left, take);
        /* never hand out the same bytes twice */
        memset(pool + sizeof(pool) - pool_left, 0, take);
        pool_left -= take;
        out += take;
        n -= take;
    }
    return 0;
}

void text_addline(char *buf, size_t size, const char *fmt, va_list ap)
{
    size_t used = strlen(buf);
    if (used + 2 >= size)
        return;
    vsnprintf(buf + used, size - used - 1, fmt, ap);
    used = strlen(buf);
    buf[used] = '\n';
    buf[used + 1] = '\0';
}

static char hex_pair[256][2]; /* each byte's two lower-case hex digits */
static pthread_once_t hex_once = PTHREAD_ONCE_INIT;

static void make_hex_pairs(void)
{
    static const char hex[] = "0123456789abcdef";
    for (unsigned b = 0; b < 256; b++) {
        hex_pair[b][0] = hex[b >> 4];
        hex_pair[b][1] = hex[b & 15];
    }
}

void trail_uuid_format(const uint8_t u[16], char out[37])
{
    /* a pair a byte: an export writes a uuid a row */
    pthread_once(&hex_once, make_hex_pairs);
    char *p = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        memcpy(p, hex_pair[u[i]], 2);
        p += 2;
    }
    *p = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int trail_uuid_parse(const char *text, size_t len, uint8_t ret_uuid[16])
{
    uint8_t u[16];
    size_t pos = 0;
    if (len != 36)
        return TRAIL_E_PARSE;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            if (text[pos++] != '-')
                return TRAIL_E_PARSE;
        }
        int hi = hexval(text[pos]), lo = hexval(text[pos + 1]);
        if (hi < 0 || lo < 0)
            return TRAIL_E_PARSE;
        u[i] = (uint8_t)(hi << 4 | lo);
        pos += 2;
    }
    memcpy(ret_uuid, u, 16);
    return 0;
}
