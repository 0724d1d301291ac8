/*
 * connlimit.h - what every listener does about too many connections:
 * counting each input's connections per peer address ([limits]
 * connections_per_peer), and counting and logging (rate limited) the
 * connections traild refuses or closes to keep serving the others.
 *
 * The policy around it (docs/traild.md "Connections"): a peer address
 * holds at most connections_per_peer connections of one input; when an
 * input is at max_connections, a new connection takes the place of the one
 * that has waited longest without sending anything useful (an HTTP
 * connection that has not delivered its request head, a stream idle the
 * longest), so that a flood of slow connections cannot lock a normal
 * client out. The Unix socket has no per-peer limit: every peer of it is
 * local, and its file mode is its access control.
 *
 * Not here: the listeners themselves (stream.c, input_http.c).
 */
#ifndef TRAILD_CONNLIMIT_H
#define TRAILD_CONNLIMIT_H

#include <stdint.h>
#include <sys/socket.h>

/* Why a connection was refused at accept, as metric labels. */
enum conn_refusal {
    CR_PER_PEER = 0, /* its address had connections_per_peer already */
    CR_FULL,         /* max_connections, and no connection could give way */
    CR_N
};

/* Why traild closed a connection it had accepted, as metric labels. */
enum conn_shed {
    CS_HEADER_TIMEOUT = 0, /* HTTP: no complete request head within http_header_timeout_s */
    CS_CAPACITY,           /* gave way to a new connection at max_connections */
    CS_IDLE,               /* a stream idle for stream_idle_timeout_s */
    CS_N
};

/*
 * connlimit_acquire - one more connection from sa's address on input
 * (enum input_kind), unless that address has limit already (0: no limit).
 * Returns 1 when counted (connlimit_release must follow), or 0 when refused
 * (counted as CR_PER_PEER and logged, naming peer). Addresses other than
 * IPv4 and IPv6 are not limited, and counted nowhere. Thread-safe.
 */
int connlimit_acquire(int input, const struct sockaddr *sa, uint32_t limit, const char *peer);

/* connlimit_count - connections counted for sa's address on input now. */
uint32_t connlimit_count(int input, const struct sockaddr *sa);

/* connlimit_add - count one more for sa's address without a limit (see acquire). */
void connlimit_add(int input, const struct sockaddr *sa);

/* connlimit_release - one connection of sa's address on input is gone. */
void connlimit_release(int input, const struct sockaddr *sa);

/* connlimit_refused - count a refusal (enum conn_refusal) and log it, at most a line per 10 s. */
void connlimit_refused(int input, int reason, const char *peer);

/* connlimit_shed - count a connection closed by traild (enum conn_shed) and log it likewise. */
void connlimit_shed(int input, int reason, const char *peer);

#endif /* TRAILD_CONNLIMIT_H */
