/*
 * stream.h - the libevent side of the socket inputs: an event loop on its
 * own thread, and servers on it that read messages from TCP, TLS, Unix
 * stream sockets or UDP, decode them into events, and hand them to ingest
 * in batches, with backpressure.
 *
 * Backpressure: a connection has at most a few batches in flight; past
 * that, or when ingest's queue is full, it stops reading from its socket
 * (the kernel's buffers fill and TCP slows the sender down) and resumes when
 * its batches complete or ingest has room. Nothing read is ever dropped.
 *
 * Not here: what a given input listens on (input_syslog.c, input_tcp.c,
 * input_unix.c), decoding (decode.c).
 */
#ifndef TRAILD_STREAM_H
#define TRAILD_STREAM_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct stream_server;

/* loop_start - an event base running on a new thread named name. 0 or -errno. */
int loop_start(const char *name, struct loop **ret_loop);

/* loop_stop - end the loop and join its thread (after its servers are stopped). */
void loop_stop(struct loop *l);

/* loop_free - free a stopped loop. */
void loop_free(struct loop *l);

/* What a server reads and how. */
struct stream_opts {
    int input;          /* enum input_kind */
    int frame_mode;     /* enum trail_frame_mode (stream sockets) */
    int format;         /* enum item_format */
    SSL_CTX *ssl;       /* TLS on accepted connections, or NULL; the server takes a reference */
    uint32_t max_conns; /* connections at once, of all servers of this input */
};

/*
 * stream_listen_tcp - listen on addr ("host:port"), TLS when o->ssl.
 * stream_listen_unix - listen on a Unix stream socket at path (a stale
 *   socket file is replaced; anything else there is an error), mode as chmod.
 * stream_listen_udp - receive datagrams on addr, one message each.
 * Return 0, or -errno with err naming the problem. Run on the loop's
 * thread's behalf from any thread before the loop serves.
 */
int stream_listen_tcp(struct loop *l, const char *addr, const struct stream_opts *o,
                      struct stream_server **ret_srv, char *err, size_t errlen);
int stream_listen_unix(struct loop *l, const char *path, unsigned mode, const struct stream_opts *o,
                       struct stream_server **ret_srv, char *err, size_t errlen);
int stream_listen_udp(struct loop *l, const char *addr, const struct stream_opts *o,
                      struct stream_server **ret_srv, char *err, size_t errlen);

/*
 * stream_bind_tcp - a listening TCP socket on addr (non-blocking, close on
 * exec), for stream_listen_fd(). 0 and *ret_fd, or -errno with err.
 * stream_listen_fd - a server on loop l taking connections from the
 * listening socket fd, which it owns from now on (closed at free, or on
 * failure). Several loops may each serve a dup() of one socket: whichever is
 * free accepts, and o->max_conns counts the connections of all of them.
 */
int stream_bind_tcp(const char *addr, int *ret_fd, char *err, size_t errlen);
int stream_listen_fd(struct loop *l, int fd, const struct stream_opts *o,
                     struct stream_server **ret_srv, char *err, size_t errlen);

/*
 * stream_group_new - make srv[0..n) (n <= 8), servers of one input on n
 * loops sharing a listening socket, a group: a connection any of them
 * accepts goes to the next in turn, so that the loops share the load.
 * stream_group_free - free it once its servers are freed.
 */
struct stream_group;
int stream_group_new(struct stream_server **srv, int n, struct stream_group **ret_group);
void stream_group_free(struct stream_group *g);

/*
 * stream_server_stop - close the listener, stop reading, hand every complete
 * message already read to ingest, and return once all of it has completed.
 * Connections are then closed. Call from any thread but the loop's.
 */
void stream_server_stop(struct stream_server *srv);

/* stream_server_free - free a stopped server. */
void stream_server_free(struct stream_server *srv);

/*
 * A stream input with one listener on an event loop of its own: what the raw
 * CEF TCP and the Unix socket inputs are. stream_input_start() makes the
 * loop (thread named thread); the caller then opens its listener into
 * ->srv on ->loop. stop and free fit struct input_ops directly.
 */
struct stream_input {
    struct loop *loop;
    struct stream_server *srv;
};

/* stream_input_start - a new input with its loop running. 0, -ENOMEM or -errno with err. */
int stream_input_start(const char *thread, struct stream_input **ret, char *err, size_t errlen);

/* stream_input_stop - stop the listener (draining what was read) and the loop. */
void stream_input_stop(void *state);

/* stream_input_free - free a stopped input; NULL is a no-op. */
void stream_input_free(void *state);

/* The file stream_tls_context() could not use. */
enum stream_tls_file { TLS_FILE_CERT = 1, TLS_FILE_KEY = 2, TLS_FILE_CA = 3 };

/*
 * stream_tls_context - a server SSL_CTX from PEM files (ca may be NULL).
 * 0, or -EINVAL with err and, when ret_bad_file is not NULL, which file
 * (enum stream_tls_file; a key that does not match the certificate is the
 * key's fault).
 */
int stream_tls_context(const char *cert, const char *key, const char *ca, SSL_CTX **ret_ctx,
                       int *ret_bad_file, char *err, size_t errlen);

#endif /* TRAILD_STREAM_H */
