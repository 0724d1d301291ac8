/*
 * stream.h - the libevent side of the socket inputs: event loops, each on
 * its own thread, and servers on them that read messages from TCP, TLS, Unix
 * stream sockets or UDP, decode them into events, and hand them to ingest
 * in batches, with backpressure.
 *
 * Backpressure: a connection has at most a few batches in flight; past
 * that, or when ingest's queue is full, it stops reading from its socket
 * (the kernel's buffers fill and TCP slows the sender down) and resumes when
 * its batches complete or ingest has room. Nothing read is ever dropped.
 *
 * An input's loops are a loop set, one per CPU by default, and each
 * listener is spread over them (stream_spread_*), so that its connections
 * are read, decoded and stored on every CPU.
 *
 * Not here: what a given input listens on (input_syslog.c, input_tcp.c,
 * input_unix.c), decoding (decode.c).
 */
#ifndef TRAILD_STREAM_H
#define TRAILD_STREAM_H

#include "core/metrics.h"

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct stream_server;
struct stream_group;

/* The most event loops one input has. */
#define STREAM_LOOPS_MAX METRICS_LOOPS_MAX

/*
 * A loop set: the event loops of one input, each a libevent base on a
 * thread of its own, among which the input's listeners spread their
 * connections (stream_spread_*). Each loop reads, decodes and appends its
 * own connections' events, so an input uses as many CPUs as it has loops.
 */
struct loop_set {
    int n;
    struct loop *loop[STREAM_LOOPS_MAX];
};

/*
 * loop_set_size - how many loops a setting asks for: configured, or for 0
 * the CPUs this process may run on (its affinity: `taskset` counts); always
 * 1 to STREAM_LOOPS_MAX.
 */
int loop_set_size(uint32_t configured);

/*
 * loop_set_start - start n loops (1 to STREAM_LOOPS_MAX) on threads named
 * name, name1, name2, ... 0, or -errno with err; on failure the loops
 * started are stopped and ls is empty again.
 */
int loop_set_start(struct loop_set *ls, const char *name, int n, char *err, size_t errlen);

/* loop_set_stop - end every loop and join its thread (after their servers are stopped). */
void loop_set_stop(struct loop_set *ls);

/* loop_set_free - free the stopped loops; ls is empty again. */
void loop_set_free(struct loop_set *ls);

/* What a server reads and how. */
struct stream_opts {
    int input;          /* enum input_kind */
    int frame_mode;     /* enum trail_frame_mode (stream sockets) */
    int format;         /* enum item_format */
    SSL_CTX *ssl;       /* TLS on accepted connections, or NULL; the server takes a reference */
    uint32_t max_conns; /* connections at once, of all servers of this input */
};

/*
 * A listener spread over a loop set: one listening socket, served by a
 * server on every loop of the set (srv[i] on loop i, each with a dup() of
 * the socket). Whichever loop wakes first accepts; the connection then goes
 * to the next server in turn, so that the loops share the connections, and
 * o->max_conns counts the connections of all of them. The metrics count
 * each loop's connections and events (trail_stream_loop_*_total).
 */
struct stream_spread {
    int n;
    struct stream_server *srv[STREAM_LOOPS_MAX];
    struct stream_group *group; /* NULL with one loop */
};

/*
 * stream_spread_tcp - listen on addr ("host:port"), TLS when o->ssl.
 * stream_spread_unix - listen on a Unix stream socket at path (a stale
 *   socket file is replaced; anything else there is an error), mode as
 *   chmod; the file is removed when the listener stops.
 * Both fill *sp, or return -errno with err naming the problem and leave
 * *sp empty. Call before the loops serve anything else of this input.
 */
int stream_spread_tcp(struct loop_set *ls, const char *addr, const struct stream_opts *o,
                      struct stream_spread *sp, char *err, size_t errlen);
int stream_spread_unix(struct loop_set *ls, const char *path, unsigned mode,
                       const struct stream_opts *o, struct stream_spread *sp, char *err,
                       size_t errlen);

/* stream_spread_stop - stream_server_stop() each of its servers. An empty spread is a no-op. */
void stream_spread_stop(struct stream_spread *sp);

/* stream_spread_free - free its stopped servers; *sp is empty again. */
void stream_spread_free(struct stream_spread *sp);

/*
 * stream_listen_udp - receive datagrams on addr, one message each, on loop l
 * alone. 0, or -errno with err naming the problem.
 */
int stream_listen_udp(struct loop *l, const char *addr, const struct stream_opts *o,
                      struct stream_server **ret_srv, char *err, size_t errlen);

/*
 * stream_server_stop - close the listener, stop reading, hand every complete
 * message already read to ingest, and return once all of it has completed.
 * Connections are then closed. Call from any thread but the loop's.
 */
void stream_server_stop(struct stream_server *srv);

/* stream_server_free - free a stopped server. */
void stream_server_free(struct stream_server *srv);

/*
 * A stream input with one listener spread over a loop set of its own: what
 * the raw CEF TCP and the Unix socket inputs are. stream_input_start()
 * starts the loops (threads named thread, thread1, ...: [listen]
 * stream_threads through loop_set_size()); the caller then opens its
 * listener into ->lis over ->loops. stop and free fit struct input_ops
 * directly.
 */
struct stream_input {
    struct loop_set loops;
    struct stream_spread lis;
};

/*
 * stream_input_start - a new input with loop_set_size(threads) loops
 * running. 0, -ENOMEM or -errno with err.
 */
int stream_input_start(const char *thread, uint32_t threads, struct stream_input **ret, char *err,
                       size_t errlen);

/* stream_input_stop - stop the listener (draining what was read) and the loops. */
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
