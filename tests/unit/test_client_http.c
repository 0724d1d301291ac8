/*
 * test_client_http.c - lib/client's URL parser and HTTP/1.1 client against
 * a scripted server on 127.0.0.1 in a thread: Content-Length, chunked
 * (extensions, trailers, split writes), bodies to the end of the
 * connection, no body for 204, keep-alive reuse, one retry when the peer
 * closed a kept-alive connection, a bad chunk, a peer that never answers.
 * HTTPS is tested end to end by tests/integration/client_https.sh.
 */
#include "client/http.h"
#include "client/url.h"
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the scripted server ---- */

struct script {
    const char *const *answers; /* one per request, in order; NULL ends */
    const int *close_after;     /* 1: close the connection after that answer */
    int silent;                 /* 1: read the request, answer nothing */
    int lfd, port, accepts, requests;
    char last_request[4096];
    pthread_t thread;
};

/* Read one request (head and Content-Length body). 1 read, 0 the client closed. */
static int read_request(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t got = recv(fd, buf + n, cap - 1 - n, 0);
        if (got <= 0)
            return 0;
        n += (size_t)got;
        buf[n] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        const char *cl = strcasestr(buf, "Content-Length:");
        size_t want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
        if (n >= want)
            return 1;
    }
}

static void *serve(void *arg)
{
    struct script *s = arg;
    int i = 0;
    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        s->accepts++;
        while (read_request(fd, s->last_request, sizeof(s->last_request))) {
            s->requests++;
            if (s->silent)
                continue;
            const char *a = s->answers[i];
            if (!a)
                break;
            /* in pieces of 5 bytes, so that the client reads across every boundary */
            for (size_t off = 0, len = strlen(a); off < len; off += 5) {
                if (send(fd, a + off, len - off < 5 ? len - off : 5, MSG_NOSIGNAL) < 0)
                    break;
                usleep(200); /* pace between pieces (what is tested: partial reads) */
            }
            if (s->close_after && s->close_after[i++])
                break;
            if (!s->close_after)
                i++;
        }
        close(fd);
    }
}

static void start(struct script *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    bind(s->lfd, (struct sockaddr *)&a, sizeof(a));
    listen(s->lfd, 4);
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->thread, NULL, serve, s);
}

static void stop(struct script *s)
{
    shutdown(s->lfd, SHUT_RDWR); /* wakes accept() */
    pthread_join(s->thread, NULL);
    close(s->lfd);
}

static void init(struct client_http *h, const struct script *s, int timeout_ms)
{
    char text[64];
    struct client_url u;
    snprintf(text, sizeof(text), "http://127.0.0.1:%d/base", s->port);
    client_url_parse(text, &u);
    struct client_tls tls = {.verify = 1};
    client_http_init(h, &u, &tls, timeout_ms, "test");
}

/* ---- the tests ---- */

TEST(url_parse)
{
    struct client_url u;
    ASSERT_OK(client_url_parse("http://example.org", &u));
    ASSERT_EQ(u.https, 0);
    ASSERT_STREQ(u.host, "example.org");
    ASSERT_STREQ(u.port, "80");
    ASSERT_STREQ(u.path, "/");
    ASSERT_OK(client_url_parse("https://[::1]:8443/trail/?a=b", &u));
    ASSERT_EQ(u.https, 1);
    ASSERT_STREQ(u.host, "::1");
    ASSERT_STREQ(u.port, "8443");
    ASSERT_STREQ(u.path, "/trail/?a=b");
    char prefix[64];
    client_url_prefix(&u, prefix, sizeof(prefix));
    ASSERT_STREQ(prefix, "/trail");
    ASSERT_OK(client_url_parse("https://h?x=1", &u));
    ASSERT_STREQ(u.port, "443");
    ASSERT_STREQ(u.path, "/?x=1");
    static const char *const bad[] = {
        "ftp://h",        "http://",     "http://:80",  "http://h:",   "http://h:0",
        "http://h:65536", "http://h:8x", "http://u@h/", "http://[::1", "http://h/a b",
        "http://h/#f",    "https//h",    NULL};
    for (int i = 0; bad[i]; i++)
        if (client_url_parse(bad[i], &u) != -EINVAL)
            FAIL_AT("'%s' was taken", bad[i]);
}

TEST(length_and_keep_alive)
{
    static const char *const answers[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Thing:  a value \r\n\r\nhello",
        "HTTP/1.1 201 Created\r\ncontent-length: 3\r\n\r\nabc", NULL};
    struct script s = {.answers = answers};
    start(&s);
    struct client_http h;
    struct trail_buf b = {0};
    char err[256];
    int status = 0;
    init(&h, &s, 10000);
    ASSERT_OK(client_http_request(&h, "GET", "/base/one", "X-A: 1\r\n", NULL, 0, &status, err,
                                  sizeof(err)));
    ASSERT_EQ(status, 200);
    size_t vl = 0;
    const char *v = client_http_header(&h, "x-thing", &vl);
    ASSERT(v && vl == 7 && !memcmp(v, "a value", 7));
    ASSERT_OK(client_http_read_all(&h, &b, 1000, err, sizeof(err)));
    ASSERT_STREQ(b.data, "hello");
    ASSERT(strstr(s.last_request, "GET /base/one HTTP/1.1\r\nHost: 127.0.0.1:") != NULL);
    ASSERT(strstr(s.last_request, "\r\nX-A: 1\r\n\r\n") != NULL);
    ASSERT_OK(client_http_post(&h, NULL, NULL, "body", 4, &status, &b, err, sizeof(err)));
    ASSERT_EQ(status, 201);
    ASSERT_STREQ(b.data, "abc");
    ASSERT(strstr(s.last_request, "POST /base HTTP/1.1\r\n") != NULL);
    ASSERT(strstr(s.last_request, "Content-Length: 4\r\n") != NULL);
    ASSERT(strstr(s.last_request, "\r\n\r\nbody") != NULL);
    client_http_close(&h);
    stop(&s);
    trail_buf_free(&b);
    ASSERT_EQ(s.accepts, 1); /* both on one connection */
}

TEST(chunked)
{
    static const char *const answers[] = {
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nhello\r\n1A\r\n, and the rest of it here.\r\n0\r\nX-Trailer: t\r\n\r\n",
        "HTTP/1.1 204 No Content\r\n\r\n", NULL};
    struct script s = {.answers = answers};
    start(&s);
    struct client_http h;
    struct trail_buf b = {0};
    char err[256];
    int status = 0;
    init(&h, &s, 10000);
    ASSERT_OK(client_http_post(&h, NULL, NULL, "x", 1, &status, &b, err, sizeof(err)));
    ASSERT_EQ(status, 200);
    ASSERT_STREQ(b.data, "hello, and the rest of it here.");
    ASSERT_OK(client_http_post(&h, NULL, NULL, "x", 1, &status, &b, err, sizeof(err)));
    ASSERT_EQ(status, 204);
    ASSERT_EQ(b.len, 0);
    client_http_close(&h);
    stop(&s);
    trail_buf_free(&b);
    ASSERT_EQ(s.accepts, 1);
}

TEST(body_to_the_end)
{
    static const char *const answers[] = {"HTTP/1.0 200 OK\r\n\r\nuntil the end", NULL};
    static const int close_after[] = {1};
    struct script s = {.answers = answers, .close_after = close_after};
    start(&s);
    struct client_http h;
    char buf[4], err[256];
    struct trail_buf b = {0};
    int status = 0;
    init(&h, &s, 10000);
    ASSERT_OK(client_http_request(&h, "GET", NULL, NULL, NULL, 0, &status, err, sizeof(err)));
    size_t n = 0;
    do { /* read in small pieces, as a stream is read */
        ASSERT_OK(client_http_read(&h, buf, sizeof(buf), -1, &n, err, sizeof(err)));
        trail_buf_append(&b, buf, n);
    } while (n);
    ASSERT_STREQ(b.data, "until the end");
    ASSERT_EQ(h.connected, 0);
    client_http_close(&h);
    stop(&s);
    trail_buf_free(&b);
}

TEST(retry_once_on_a_closed_connection)
{
    /* the server closes after each answer without saying so */
    static const char *const answers[] = {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1",
                                          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2", NULL};
    static const int close_after[] = {1, 1};
    struct script s = {.answers = answers, .close_after = close_after};
    start(&s);
    struct client_http h;
    struct trail_buf b = {0};
    char err[256];
    int status = 0;
    init(&h, &s, 10000);
    ASSERT_OK(client_http_post(&h, NULL, NULL, "a", 1, &status, &b, err, sizeof(err)));
    ASSERT_STREQ(b.data, "1");
    /* the client still holds the connection, which the server closes (or resets) */
    ASSERT_OK(client_http_post(&h, NULL, NULL, "b", 1, &status, &b, err, sizeof(err)));
    ASSERT_STREQ(b.data, "2");
    client_http_close(&h);
    stop(&s);
    trail_buf_free(&b);
    ASSERT_EQ(s.accepts, 2);
}

TEST(bad_chunk)
{
    static const char *const answers[] = {
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", NULL};
    struct script s = {.answers = answers};
    start(&s);
    struct client_http h;
    struct trail_buf b = {0};
    char err[256];
    int status = 0;
    init(&h, &s, 10000);
    ASSERT_EQ(client_http_post(&h, NULL, NULL, "x", 1, &status, &b, err, sizeof(err)), -EPROTO);
    ASSERT(strstr(err, "chunk") != NULL);
    client_http_close(&h);
    stop(&s);
    trail_buf_free(&b);
}

TEST(no_answer_times_out)
{
    struct script s = {.silent = 1};
    start(&s);
    struct client_http h;
    char err[256];
    int status = 0;
    init(&h, &s, 200);
    ASSERT_EQ(client_http_request(&h, "GET", NULL, NULL, NULL, 0, &status, err, sizeof(err)),
              -ETIMEDOUT);
    client_http_close(&h);
    stop(&s);
}

TEST_MAIN(url_parse, length_and_keep_alive, chunked, body_to_the_end,
          retry_once_on_a_closed_connection, bad_chunk, no_answer_times_out)
