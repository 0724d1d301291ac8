/*
 * store_purge.c - retention: remove whole sealed segments by age (the time
 * their records arrived) or by the store's size, keep what integrity needs,
 * and record the purge in the store as trail's own trail_events_purged.
 *
 * Not for: deciding when to purge (traild's schedule, `trail purge`).
 *
 * What stays after a purge so that the rest still verifies and old proofs
 * still work (docs/store.md, "Retention"):
 *  - DIR/tree.roots is never cut: subtree hashes over purged whole groups
 *    still come from it;
 *  - the segment after the purged ones starts with a header holding the
 *    chain head and the Merkle frontier at the purge point, and the purge
 *    event repeats them in its "anchor" attribute, so a verifier starts
 *    there;
 *  - DIR/anchors gets the 256 leaf hashes of each purged group that holds a
 *    checkpoint's tree size (opts.checkpoint_sizes) and of the group the
 *    purge point falls in, so consistency proofs from those checkpoints can
 *    still be made.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* "size=N chain=HEX frontier=HEX,HEX,..." (frontier nodes highest first) */
static int format_anchor(const struct seg_header *h, struct trail_buf *out)
{
    char line[96];
    int r = 0;
    snprintf(line, sizeof(line), "size=%" PRIu64 " chain=", h->frontier.size);
    r = trail_buf_append(out, line, strlen(line));
    hex(h->chain, TRAIL_HASH_LEN, line);
    if (r == 0)
        r = trail_buf_append(out, line, 64);
    if (r == 0)
        r = trail_buf_append(out, " frontier=", 10);
    int first = 1;
    for (int k = 63; k >= 0 && r == 0; k--) {
        if (!(h->frontier.size & ((uint64_t)1 << k)))
            continue;
        if (!first)
            r = trail_buf_append(out, ",", 1);
        first = 0;
        hex(h->frontier.nodes[k], TRAIL_HASH_LEN, line);
        if (r == 0)
            r = trail_buf_append(out, line, 64);
    }
    return r;
}

static int read_header(struct trail_store *s, const struct seg *g, struct seg_header *h)
{
    char path[4200];
    store_seg_path(s, g->first_seq, g->sealed ? ".seg" : ".open", path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && !g->sealed) {
        store_seg_path(s, g->first_seq, ".seg", path, sizeof(path));
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0)
        return -errno;
    int r = seg_header_read(fd, h);
    close(fd);
    return r;
}

/*
 * When the last record of a sealed segment arrived: retention goes by the
 * time trail received events, never by the producer's claim (one event dated
 * 9999 must not hold every older segment for good). Records are appended in
 * arrival order, so the last one arrived last. Records of stores written
 * before the received time (format v1) fall back to the segment's newest
 * event time.
 */
static int seg_arrived(struct trail_store *s, const struct seg *g, int64_t *ret)
{
    struct trail_store_iter *it;
    const uint8_t *rec;
    size_t len;
    struct rec_view v;
    int r = trail_store_iter_new(s, TRAIL_ITER_FORWARD, &it);
    if (r < 0)
        return r;
    trail_store_iter_seek_seq(it, g->last_seq);
    r = trail_store_iter_next_raw(it, &rec, &len, NULL);
    if (r == 1)
        r = rec_view_parse(rec, len, &v);
    if (r == 0)
        *ret = v.received_us ? v.received_us : g->max_time;
    trail_store_iter_free(it);
    return r < 0 ? r : 0;
}

int trail_store_purge(struct trail_store *s, int64_t older_than_us, uint64_t max_total_bytes,
                      struct trail_store_purge_report *ret)
{
    struct trail_store_purge_report rep = {.from_seq = 1, .to_seq = 0};
    struct seg *segs = NULL;
    struct trail_buf anchor = {0};
    struct trail_event *ev = NULL;
    uint64_t *sizes = NULL;
    size_t n_sizes = 0;
    int r = 0;

    if (s->read_only)
        return TRAIL_E_READONLY;
    pthread_mutex_lock(&s->purge_lock);
    size_t n = 0;
    if ((r = store_segs_copy(s, &segs, &n)) < 0)
        goto out;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += segs[i].bytes;
    size_t k = 0;
    while (k + 1 < n && segs[k].sealed) {
        int64_t arrived = 0;
        if (older_than_us && (r = seg_arrived(s, &segs[k], &arrived)) < 0)
            goto out;
        int old = older_than_us && arrived < older_than_us;
        int big = max_total_bytes && total > max_total_bytes;
        if (!old && !big)
            break;
        total -= segs[k].bytes;
        rep.bytes += segs[k].bytes;
        k++;
    }
    if (k == 0)
        goto out;
    rep.from_seq = segs[0].first_seq;
    rep.to_seq = segs[k - 1].last_seq;
    rep.segments = k;

    struct seg_header h; /* the state at the purge point: where what remains starts */
    if ((r = read_header(s, &segs[k], &h)) < 0)
        goto out;
    if (h.first_seq != rep.to_seq + 1) {
        r = TRAIL_E_CORRUPT;
        goto out;
    }
    /* leaf hashes for proofs from checkpoints inside purged groups */
    if (s->o.checkpoint_sizes &&
        (r = s->o.checkpoint_sizes(s->o.checkpoint_arg, &sizes, &n_sizes)) < 0)
        goto out;
    if ((r = store_checkpoint_sizes(s, &sizes, &n_sizes)) < 0) /* DIR/checkpoints too */
        goto out;
    uint64_t purged_leaves = rep.to_seq; /* leaves [0, to_seq) are gone from the segments */
    for (size_t i = 0; i < n_sizes; i++) {
        uint64_t m = sizes[i];
        if (m % 256 == 0 || m / 256 * 256 >= purged_leaves ||
            m / 256 * 256 + 256 <= rep.from_seq - 1)
            continue;
        if ((r = store_anchors_add(s, m / 256, purged_leaves)) < 0)
            goto out;
    }
    if (purged_leaves % 256 && (r = store_anchors_add(s, purged_leaves / 256, purged_leaves)) < 0)
        goto out;

    /* out of the list first (readers stop finding them), then off the disk */
    pthread_mutex_lock(&s->seg_lock);
    size_t drop = 0;
    while (drop < s->n_segs && drop < k && s->segs[drop].first_seq == segs[drop].first_seq)
        drop++;
    memmove(s->segs, s->segs + drop, (s->n_segs - drop) * sizeof(*s->segs));
    s->n_segs -= drop;
    pthread_mutex_unlock(&s->seg_lock);
    for (size_t i = 0; i < drop; i++) {
        char path[4200];
        store_seg_path(s, segs[i].first_seq, ".seg", path, sizeof(path));
        unlink(path);
        /* its index (lib/query/index_file.c) goes with it: the store names every
           file of a segment, whether or not the index part is linked in */
        store_seg_path(s, segs[i].first_seq, ".idx", path, sizeof(path));
        unlink(path);
    }
    fsync(s->dir_fd);

    /* the record of it */
    if ((r = format_anchor(&h, &anchor)) < 0)
        goto out;
    if ((r = trail_event_new(s->cat, "trail_events_purged", &ev)) < 0)
        goto out;
    trail_event_mark_own(ev); /* verify trusts the anchor only with this mark */
    char msg[256];
    snprintf(msg, sizeof(msg),
             "purged %" PRIu64 " segment(s), %" PRIu64 " bytes, seqs %" PRIu64 "..%" PRIu64,
             rep.segments, rep.bytes, rep.from_seq, rep.to_seq);
    if ((r = trail_event_set_int(ev, "purged_from_seq", (int64_t)rep.from_seq)) < 0 ||
        (r = trail_event_set_int(ev, "purged_to_seq", (int64_t)rep.to_seq)) < 0 ||
        (r = trail_event_set_int(ev, "segments", (int64_t)rep.segments)) < 0 ||
        (r = trail_event_set_int(ev, "bytes", (int64_t)rep.bytes)) < 0 ||
        (r = trail_event_set_int(ev, "count", (int64_t)(rep.to_seq - rep.from_seq + 1))) < 0 ||
        (older_than_us && (r = trail_event_set_time_attr(ev, "older_than", older_than_us)) < 0) ||
        (r = trail_event_set_string(ev, "msg", msg, strlen(msg))) < 0 ||
        (r = trail_event_set_string(ev, "anchor", anchor.data, anchor.len)) < 0)
        goto out;
    uint64_t seq;
    if ((r = trail_store_append(s, &ev, 1, &seq)) < 0)
        goto out;
    if ((r = trail_store_wait(s, seq)) < 0)
        goto out;
    rep.event_seq = seq;
out:
    pthread_mutex_unlock(&s->purge_lock);
    if (r == 0 && ret)
        *ret = rep;
    trail_event_free(ev);
    trail_buf_free(&anchor);
    free(sizes);
    free(segs);
    return r;
}
