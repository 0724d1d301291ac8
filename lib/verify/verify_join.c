/*
 * verify_join.c - joining the segments in seq order once the workers have
 * read them: each boundary, the first segment's start, the last one's own
 * evidence, purge anchors, tree.roots beyond the records, and every
 * checkpoint met or placed (rollback, truncation, fork), then the
 * signatures and what no signed checkpoint covers.
 *
 * Not here: reading a segment (verify_read.c).
 */
#include "verify/verify_int.h"

/* ---- joining the segments ---- */

static const char *cp_name(const struct vcp *c, char buf[64])
{
    if (c->external)
        snprintf(buf, 64, "external checkpoint %" PRIu32, c->external);
    else
        snprintf(buf, 64, "checkpoints line %" PRIu32, c->line);
    return buf;
}

/* The damage inside segment j found from hashes (not structure), if any; 1 when reported. */
static int hash_damage(struct verify *v, const struct seg_job *j, int boundary_bad,
                       const char *boundary_why)
{
    char cpn[64];
    if (j->replaced)
        return 0;
    if (j->bad_cp) {
        uint64_t lo = j->bad_cp_lo, hi = j->bad_cp_size;
        if (j->bad_group && j->bad_hi <= hi) {
            lo = j->bad_lo > lo ? j->bad_lo : lo;
            hi = j->bad_hi;
        }
        struct vcp tmp = {.line = j->bad_cp_line};
        verify_report(v, TRAIL_DAMAGE_MODIFIED, lo, hi, j->name,
                      "the records do not give the tree that %s signs at size %" PRIu64
                      ": a record between %" PRIu64 " and %" PRIu64 " was changed",
                      cp_name(&tmp, cpn), j->bad_cp_size, lo, hi);
        return 1;
    }
    if (boundary_bad) {
        uint64_t lo = j->good_upto + 1, hi = j->last_seq;
        if (j->bad_group) {
            lo = j->bad_lo;
            hi = j->bad_hi;
        }
        verify_report(v, TRAIL_DAMAGE_MODIFIED, lo, hi, j->name,
                      "the records do not lead to the chain head %s: a record between %" PRIu64
                      " and %" PRIu64 " was changed",
                      boundary_why, lo, hi);
        return 1;
    }
    if (j->bad_group && !j->bad_group_cleared && !boundary_why) {
        verify_report(v, TRAIL_DAMAGE_MODIFIED, j->bad_lo, j->bad_hi, j->name,
                      "the records of group %" PRIu64
                      " do not give its root in tree.roots: a record "
                      "between %" PRIu64 " and %" PRIu64 " was changed (or tree.roots was)",
                      j->bad_group_no, j->bad_lo, j->bad_hi);
        return 1;
    }
    if (j->bad_group) {
        verify_report(v, TRAIL_DAMAGE_SIDE_FILE, j->bad_group_no * 256 + 1,
                      j->bad_group_no * 256 + 256, "tree.roots",
                      "the root of group %" PRIu64 " in tree.roots is not the root of its records, "
                      "which agree with the chain: tree.roots was changed",
                      j->bad_group_no);
        return 1;
    }
    return 0;
}

/*
 * Is [first, last] a run that trail repair quarantined (a line of
 * DIR/quarantined, lib/store/store_damage.c)? Then it is reported as that: known
 * damage, never ok. 1 and where it went in ret_where, else 0.
 */
static int quarantined_run(struct verify *v, uint64_t first, uint64_t last, char *ret_where,
                           size_t size)
{
    int fd = openat(v->dir_fd, "quarantined", O_RDONLY | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    char line[1024], where[300];
    int found = 0;
    uint64_t at = first;
    /* several lines may together cover the gap (neighbouring segments quarantined) */
    for (int pass = 0; pass < 64 && at <= last && !found; pass++) {
        int moved = 0;
        rewind(f);
        while (fgets(line, sizeof(line), f)) {
            uint64_t a, b;
            int64_t t;
            if (sscanf(line, "%" SCNu64 " %" SCNu64 " %" SCNd64 " %299s", &a, &b, &t, where) == 4 &&
                a <= at && b >= at) {
                if (at == first)
                    snprintf(ret_where, size, "%s", where);
                at = b + 1;
                moved = 1;
            }
        }
        if (!moved)
            break;
        found = at > last;
    }
    fclose(f);
    return found;
}

/* Does the first segment start where it must? (from nothing, or from a purge's anchor) */
static int check_start(struct verify *v, const struct seg_job *j, const struct purge_rec *purges,
                       size_t n_purges, struct trail_verify_report *rep)
{
    uint64_t first = j->h.first_seq;
    if (first == 1) {
        static const uint8_t zero[TRAIL_HASH_LEN];
        if (memcmp(j->h.chain, zero, TRAIL_HASH_LEN) != 0)
            return verify_report(v, TRAIL_DAMAGE_SEGMENT_REPLACED, 1, 1, j->name,
                                 "the first segment does not start from the empty chain");
        return 0;
    }
    const struct purge_rec *match = NULL;
    uint64_t best_below = 0;
    for (size_t i = 0; i < n_purges; i++) {
        if (purges[i].to_seq == first - 1)
            match = &purges[i];
        else if (purges[i].to_seq < first - 1 && purges[i].to_seq > best_below)
            best_below = purges[i].to_seq;
    }
    char where[300];
    if (!match && quarantined_run(v, best_below + 1, first - 1, where, sizeof(where)))
        return verify_report(v, TRAIL_DAMAGE_QUARANTINED, best_below + 1, first - 1, j->name,
                             "records %" PRIu64 "..%" PRIu64
                             " were quarantined by trail repair (%s): "
                             "they are gone",
                             best_below + 1, first - 1, where);
    if (!match)
        return verify_report(v, TRAIL_DAMAGE_SEGMENT_MISSING, best_below + 1, first - 1, j->name,
                             "records %" PRIu64 "..%" PRIu64 " are missing and no purge record "
                             "accounts for them: a segment was removed",
                             best_below + 1, first - 1);
    if (!match->anchor_ok || match->fr.size != first - 1 ||
        memcmp(match->chain, j->h.chain, TRAIL_HASH_LEN) != 0 ||
        !verify_frontier_eq(&match->fr, &j->h.frontier))
        return verify_report(
            v, TRAIL_DAMAGE_SEGMENT_REPLACED, first, first, j->name,
            "the first segment does not start from the anchor of the purge recorded "
            "at seq %" PRIu64,
            match->seq);
    (void)rep;
    verify_note(v,
                "starts after a purge of records up to %" PRIu64 " (recorded at seq %" PRIu64
                "), from its anchor",
                first - 1, match->seq);
    return 0;
}

/*
 * A checkpoint the store was found to hold: what it vouches for. Only a
 * signature checked with a key the caller gave counts: a checkpoint taken
 * unchecked, or checked with DIR/checkpoint.pub, is no more trustworthy than
 * the directory it came from.
 */
static void vouched(struct verify *v, struct trail_verify_report *rep, const struct vcp *c)
{
    if (!v->o->n_keys)
        return;
    rep->signed_checkpoints++;
    if (c->size > rep->signed_size)
        rep->signed_size = c->size;
    if (c->external && c->size >= rep->witnessed_size) {
        rep->witnessed_size = c->size;
        rep->witnessed_time_us = c->time_us;
    }
}

/*
 * With require_signed: the records no signed checkpoint covers. An attacker
 * who can write to DIR can rewrite every record, hash, side file and header
 * consistently, and delete DIR/checkpoints or the lines past a cut; then
 * the only thing left that tells is what is *not* signed. So a record after
 * the last signed checkpoint is damage, and a store with none is damage
 * however small, except for the tail the caller accepts (a live store's
 * records since its last checkpoint).
 */
static int check_signed(struct verify *v, struct trail_verify_report *rep)
{
    if (!v->o->require_signed || !v->o->n_keys)
        return 0;
    uint64_t first = rep->first_seq, last = rep->last_seq;
    int any = rep->records > 0 && last >= first;
    if (v->n_found) {
        /* the store fails already, and the damage found says why the checkpoints do not
           hold: reported first, it names the place; this only adds the extent */
        uint64_t lo = rep->signed_size + 1 > first ? rep->signed_size + 1 : first;
        if (any && lo <= last)
            verify_note(v,
                        "records %" PRIu64 "..%" PRIu64
                        " are covered by no signed checkpoint that holds",
                        lo, last);
        return 0;
    }
    if (rep->signed_checkpoints == 0) {
        if (any)
            return verify_report(v, TRAIL_DAMAGE_UNSIGNED, first, last, "checkpoints",
                                 "no checkpoint signed by the keys given holds: records %" PRIu64
                                 "..%" PRIu64 " are vouched for by nothing (DIR/checkpoints was "
                                 "deleted or rewritten, or the store was rebuilt)",
                                 first, last);
        return verify_report(v, TRAIL_DAMAGE_UNSIGNED, 0, 0, "checkpoints",
                             "no checkpoint signed by the keys given holds: nothing vouches that "
                             "the store is meant to be empty");
    }
    uint64_t lo = rep->signed_size + 1 > first ? rep->signed_size + 1 : first;
    if (!any || lo > last)
        return 0;
    uint64_t n = last - lo + 1;
    if (n <= v->o->allow_unsigned_tail) {
        verify_note(v,
                    "records %" PRIu64 "..%" PRIu64 " (%" PRIu64 ") are after the last signed "
                    "checkpoint (size %" PRIu64
                    "): accepted unsigned (--allow-unsigned-tail %" PRIu64
                    "); anyone who can write to DIR could have changed them",
                    lo, last, n, rep->signed_size, v->o->allow_unsigned_tail);
        return 0;
    }
    return verify_report(
        v, TRAIL_DAMAGE_UNSIGNED, lo, last, "checkpoints",
        "records %" PRIu64 "..%" PRIu64 " (%" PRIu64 ") are covered by no checkpoint "
        "signed by the keys given (the last covers %" PRIu64 " records): anyone who "
        "can write to DIR could have changed or cut them",
        lo, last, n, rep->signed_size);
}

/* What the steps of the join share. */
struct join_ctx {
    struct verify *v;
    struct trail_verify_report *rep;
    struct purge_rec *purges; /* every segment's purge records, in seq order */
    size_t n_purges;
    int started;               /* a segment with a readable header was met */
    struct seg_job *prev;      /* the segment before, when it ended cleanly */
    struct seg_job *last_read; /* the last segment whose records were read */
    /* for matching the checkpoints */
    uint64_t have_last, first_kept;
    const struct seg_job *first_job;    /* the first segment whose header reads */
    uint8_t start_root[TRAIL_HASH_LEN]; /* the tree it starts from */
    uint64_t ext_ok;                    /* the largest witness checkpoint the store agrees with */
};

/* Every segment's purge records, gathered in seq order (the segments are). */
static int collect_purges(struct join_ctx *jc)
{
    struct verify *v = jc->v;
    for (size_t i = 0; i < v->n_segs; i++) {
        const struct seg_job *j = &v->segs[i];
        for (size_t k = 0; k < j->n_purges; k++) {
            struct purge_rec *p = realloc(jc->purges, (jc->n_purges + 1) * sizeof(*p));
            if (!p)
                return -ENOMEM;
            jc->purges = p;
            jc->purges[jc->n_purges++] = j->purges[k];
        }
    }
    jc->rep->purges = jc->n_purges;
    return 0;
}

/* The boundary between jc->prev, which ended cleanly, and j, the segment after it. */
static void join_boundary(struct join_ctx *jc, struct seg_job *j)
{
    struct verify *v = jc->v;
    struct seg_job *prev = jc->prev;
    uint64_t want = prev->last_seq + 1;
    char qwhere[300];
    if (j->h.first_seq > want) {
        if (prev->has_trailer && prev->trailer_last >= want)
            verify_report(v, TRAIL_DAMAGE_REMOVED, want, prev->trailer_last, prev->name,
                          "records %" PRIu64 "..%" PRIu64
                          " are missing from the end of the segment (its trailer says it "
                          "ends at %" PRIu64 ")",
                          want, prev->trailer_last, prev->trailer_last);
        else if (quarantined_run(v, want, j->h.first_seq - 1, qwhere, sizeof(qwhere)))
            verify_report(v, TRAIL_DAMAGE_QUARANTINED, want, j->h.first_seq - 1, j->name,
                          "records %" PRIu64 "..%" PRIu64 " were quarantined by trail repair "
                          "(%s): they are gone",
                          want, j->h.first_seq - 1, qwhere);
        else
            verify_report(v, TRAIL_DAMAGE_SEGMENT_MISSING, want, j->h.first_seq - 1, j->name,
                          "records %" PRIu64 "..%" PRIu64 " are missing: no segment holds "
                          "them (a segment was removed)",
                          want, j->h.first_seq - 1);
    } else if (j->h.first_seq < want) {
        verify_report(v, TRAIL_DAMAGE_INSERTED, prev->good_upto + 1, prev->last_seq, prev->name,
                      "the segment holds records up to %" PRIu64 " but the next one starts "
                      "at %" PRIu64 ": records were inserted between %" PRIu64 " and %" PRIu64,
                      prev->last_seq, j->h.first_seq, prev->good_upto + 1, prev->last_seq);
    } else if (memcmp(j->h.chain, prev->chain, TRAIL_HASH_LEN) != 0 ||
               !verify_frontier_eq(&j->h.frontier, &prev->fr)) {
        if (prev->has_trailer && memcmp(prev->trailer_chain, prev->chain, TRAIL_HASH_LEN) == 0 &&
            !prev->bad_cp && !prev->bad_group) {
            j->replaced = 1;
            verify_report(v, TRAIL_DAMAGE_SEGMENT_REPLACED, j->h.first_seq, j->h.first_seq, j->name,
                          "the segment does not continue the one before it (its starting chain "
                          "head and tree are not where %s ends)",
                          prev->name);
        } else {
            char why[96];
            snprintf(why, sizeof(why), "that %s starts from", j->name);
            hash_damage(v, prev, 1, why);
        }
    } else {
        hash_damage(v, prev, 0, "");
        /* the records join up: a trailer that says otherwise was changed */
        if (prev->has_trailer && (prev->trailer_last != prev->last_seq ||
                                  memcmp(prev->trailer_chain, prev->chain, TRAIL_HASH_LEN) != 0))
            verify_report(v, TRAIL_DAMAGE_SIDE_FILE, prev->last_seq, prev->last_seq, prev->name,
                          "the sealed segment's trailer (last seq %" PRIu64
                          ", chain head) is not what its records give, though they lead to the "
                          "next segment: the trailer was changed",
                          prev->trailer_last);
    }
}

/*
 * The segments in seq order: each one's counts into the report, the first
 * one's start, each boundary with the one before, each one's own structural
 * damage and torn end.
 */
static int walk_segments(struct join_ctx *jc)
{
    struct verify *v = jc->v;
    struct trail_verify_report *rep = jc->rep;
    int r;
    for (size_t i = 0; i < v->n_segs; i++) {
        struct seg_job *j = &v->segs[i];
        if (j->error) {
            verify_report(v, TRAIL_DAMAGE_FORMAT, j->name_seq, j->name_seq, j->name,
                          "cannot read: %s", trail_strerror(j->error));
            if (jc->prev)
                hash_damage(v, jc->prev, 0, NULL);
            jc->prev = NULL;
            continue;
        }
        if (j->header_ok == 2) {
            verify_note(v, "%s: empty (created just before a crash or now): nothing in it",
                        j->name);
            continue;
        }
        rep->segments++;
        rep->records += j->n_records;
        rep->bytes += j->bytes;
        rep->group_roots += j->groups_checked;
        if (!j->header_ok) {
            verify_add_finding(v, &j->stop);
            if (jc->prev)
                hash_damage(v, jc->prev, 0, NULL);
            if (!jc->started)
                rep->first_seq = j->name_seq;
            jc->started = 1;
            jc->prev = NULL;
            continue;
        }
        if (!jc->started) {
            jc->started = 1;
            rep->first_seq = j->h.first_seq;
            if ((r = check_start(v, j, jc->purges, jc->n_purges, rep)) < 0)
                return r;
        }
        /* the boundary with the segment before (not when this one is another store's) */
        int foreign = j->stopped && j->stop.kind == TRAIL_DAMAGE_SEGMENT_REPLACED;
        if (jc->prev && foreign)
            hash_damage(v, jc->prev, 0, NULL);
        else if (jc->prev)
            join_boundary(jc, j);
        if (j->stopped) {
            verify_add_finding(v, &j->stop);
            if (j->bad_cp || j->bad_group)
                hash_damage(v, j, 0, NULL); /* before the structural damage */
            jc->prev = NULL;
            jc->last_read = j;
            continue;
        }
        if (j->torn_off && !j->is_last)
            verify_report(v, TRAIL_DAMAGE_FORMAT, j->last_seq + 1, j->last_seq + 1, j->name,
                          "the segment ends in an unfinished frame at offset %" PRIu64
                          " but it is not the last",
                          j->torn_off);
        else if (j->torn_off)
            verify_note(v,
                        "%s: an unfinished frame at offset %" PRIu64
                        " (a write in progress, or a crash): not a record yet",
                        j->name, j->torn_off);
        jc->prev = j;
        jc->last_read = j;
    }
    return 0;
}

/* The last segment's own evidence (no segment after it to join), and where the records end. */
static int last_segment(struct join_ctx *jc)
{
    struct verify *v = jc->v;
    struct trail_verify_report *rep = jc->rep;
    struct seg_job *prev = jc->prev;
    int r;
    if (prev) {
        if (prev->has_trailer && memcmp(prev->trailer_chain, prev->chain, TRAIL_HASH_LEN) != 0)
            hash_damage(v, prev, 1, "in its trailer");
        else
            hash_damage(v, prev, 0, NULL);
        if (prev->has_trailer && prev->trailer_last > prev->last_seq)
            verify_report(
                v, TRAIL_DAMAGE_TRUNCATED, prev->last_seq + 1, prev->trailer_last, prev->name,
                "records %" PRIu64 "..%" PRIu64
                " are missing from the end (the segment's trailer says it ends at %" PRIu64 ")",
                prev->last_seq + 1, prev->trailer_last, prev->trailer_last);
        rep->last_seq = prev->last_seq;
        memcpy(rep->chain, prev->chain, TRAIL_HASH_LEN);
        if ((r = frontier_root(&prev->fr, rep->root)) < 0)
            return r;
    } else if (jc->last_read) {
        rep->last_seq = jc->last_read->last_seq;
    }
    if (!jc->started)
        rep->first_seq = 1;
    return 0;
}

/* Every purge's anchor against tree.roots and anchors. */
static int purge_anchors(struct join_ctx *jc)
{
    struct verify *v = jc->v;
    for (size_t i = 0; i < jc->n_purges; i++) {
        const struct purge_rec *p = &jc->purges[i];
        if (!p->anchor_ok || p->fr.size != p->to_seq) {
            verify_report(v, TRAIL_DAMAGE_FORMAT, p->seq, p->seq, "(purge record)",
                          "the purge record at seq %" PRIu64 " has no usable anchor", p->seq);
            continue;
        }
        int k = -1;
        int fr = verify_frontier_vs_side(v, &p->fr, &k);
        if (fr < 0)
            return fr;
        if (fr == 0)
            verify_report(v, TRAIL_DAMAGE_SIDE_FILE, p->to_seq, p->to_seq, "tree.roots",
                          "the anchor of the purge at seq %" PRIu64 " (a subtree of %" PRIu64
                          " leaves) does not match tree.roots and anchors",
                          p->seq, (uint64_t)1 << k);
    }
    return 0;
}

/* tree.roots beyond the records: group roots for records that are not there. */
static void roots_beyond(struct join_ctx *jc)
{
    struct verify *v = jc->v;
    uint64_t have_last = jc->rep->last_seq;
    if (v->n_roots > have_last / 256 && !verify_is_zero(v->roots[v->n_roots - 1], TRAIL_HASH_LEN) &&
        v->n_segs) {
        uint64_t covered = v->n_roots * 256;
        const char *file = v->segs[v->n_segs - 1].name;
        verify_report(v, TRAIL_DAMAGE_TRUNCATED, have_last + 1, covered, file,
                      "tree.roots holds group roots up to record %" PRIu64
                      " but the records end at %" PRIu64 ": the tail was cut",
                      covered, have_last);
    }
}

/*
 * A witness's checkpoint the store's records disagree with (res says in
 * what). Damage in the records is reported from the segment; a fork is when
 * the store is consistent in itself and still not what the witness saw.
 */
static void witness_differs(struct join_ctx *jc, const struct vcp *c, int res)
{
    struct verify *v = jc->v;
    char cpn[64];
    int seg_damaged = 0;
    for (size_t k = 0; k < v->n_found; k++)
        if (v->found[k].seq && v->found[k].seq <= c->size)
            seg_damaged = 1;
    if (!seg_damaged)
        verify_report(v, TRAIL_DAMAGE_FORK, jc->ext_ok + 1, c->size, "(external)",
                      "at size %" PRIu64 " the store's tree %s is not the one %s signs: "
                      "the store was rewritten (a fork) after record %" PRIu64
                      " and at or before record %" PRIu64,
                      c->size, res == CP_ROOT_DIFFERS ? "root" : "chain head", cp_name(c, cpn),
                      jc->ext_ok, c->size);
}

/* A checkpoint that covers more records than the store holds. */
static void checkpoint_beyond(struct join_ctx *jc, const struct vcp *c)
{
    struct verify *v = jc->v;
    uint64_t have_last = jc->have_last;
    char cpn[64];
    if (c->external)
        verify_report(v, TRAIL_DAMAGE_ROLLBACK, have_last + 1, c->size, "(external)",
                      "%s covers %" PRIu64 " records but the store ends at %" PRIu64
                      ": it was rolled back or its tail cut",
                      cp_name(c, cpn), c->size, have_last);
    else
        verify_report(v, TRAIL_DAMAGE_TRUNCATED, have_last + 1, c->size,
                      v->n_segs ? v->segs[v->n_segs - 1].name : "(no segment)",
                      "records %" PRIu64 "..%" PRIu64 " are missing: the store's own %s covers "
                      "%" PRIu64 " records",
                      have_last + 1, c->size, cp_name(c, cpn), c->size);
}

/* A checkpoint of records purged: the root from tree.roots and anchors (the chain is gone). */
static int checkpoint_purged(struct join_ctx *jc, const struct vcp *c)
{
    struct verify *v = jc->v;
    char cpn[64];
    uint8_t root[TRAIL_HASH_LEN];
    int sr = verify_side_mth(v, 0, c->size, root);
    if (sr < 0)
        return sr;
    if (sr == 0) {
        verify_note(v, "%s (size %" PRIu64 ") predates the records kept; not rechecked",
                    cp_name(c, cpn), c->size);
        return 0;
    }
    jc->rep->checked++;
    if (memcmp(root, c->root, TRAIL_HASH_LEN) != 0)
        verify_report(v, c->external ? TRAIL_DAMAGE_FORK : TRAIL_DAMAGE_SIDE_FILE, 1, c->size,
                      c->external ? "(external)" : "tree.roots",
                      "%s (size %" PRIu64 ", before the purge point) does not match the tree "
                      "kept in tree.roots and anchors",
                      cp_name(c, cpn), c->size);
    else
        vouched(v, jc->rep, c);
    return 0;
}

/* One checkpoint (in size order): met by a worker, or placed against the records now. */
static int match_checkpoint(struct join_ctx *jc, struct vcp *c)
{
    struct verify *v = jc->v;
    struct trail_verify_report *rep = jc->rep;
    char cpn[64];
    int res = __atomic_load_n(&c->result, __ATOMIC_RELAXED);
    if (res == CP_MATCH) {
        rep->checked++;
        if (c->external)
            jc->ext_ok = c->size;
        vouched(v, rep, c);
        return 0;
    }
    if (res != CP_UNSEEN) {
        rep->checked++;
        if (c->external)
            witness_differs(jc, c, res);
        return 0;
    }
    if (c->size > jc->have_last) {
        checkpoint_beyond(jc, c);
        return 0;
    }
    if (c->size == 0) {
        uint8_t empty[TRAIL_HASH_LEN];
        static const uint8_t zero[TRAIL_HASH_LEN];
        trail_hash_empty(empty);
        rep->checked++;
        if (memcmp(c->root, empty, TRAIL_HASH_LEN) || memcmp(c->chain, zero, TRAIL_HASH_LEN))
            verify_report(v, c->external ? TRAIL_DAMAGE_FORK : TRAIL_DAMAGE_CHECKPOINT, 0, 0,
                          c->external ? "(external)" : "checkpoints",
                          "%s of size 0 does not sign the empty tree", cp_name(c, cpn));
        else
            vouched(v, rep, c);
        return 0;
    }
    if (jc->first_job && c->size == jc->first_kept - 1) {
        rep->checked++;
        if (memcmp(c->root, jc->start_root, TRAIL_HASH_LEN) ||
            memcmp(c->chain, jc->first_job->h.chain, TRAIL_HASH_LEN))
            verify_report(v, c->external ? TRAIL_DAMAGE_FORK : TRAIL_DAMAGE_SEGMENT_REPLACED,
                          jc->first_kept, jc->first_kept, jc->first_job->name,
                          "the state the first segment starts from is not what %s signs",
                          cp_name(c, cpn));
        else
            vouched(v, rep, c);
        return 0;
    }
    if (c->size < jc->first_kept)
        return checkpoint_purged(jc, c);
    verify_note(v, "%s (size %" PRIu64 ") falls among damaged records; not compared",
                cp_name(c, cpn), c->size);
    return 0;
}

/* Every checkpoint taken as evidence: was it met? */
static int match_checkpoints(struct join_ctx *jc)
{
    struct verify *v = jc->v;
    int r;
    jc->have_last = jc->rep->last_seq;
    jc->first_kept = jc->rep->first_seq;
    for (size_t i = 0; i < v->n_segs; i++)
        if (v->segs[i].header_ok == 1) {
            jc->first_job = &v->segs[i];
            break;
        }
    if (jc->first_job && (r = frontier_root(&jc->first_job->h.frontier, jc->start_root)) < 0)
        return r;
    for (size_t i = 0; i < v->n_sorted; i++)
        if ((r = match_checkpoint(jc, v->sorted[i])) < 0)
            return r;
    return 0;
}

/* Same size, different tree: a fork among the store's own checkpoints. */
static void checkpoint_forks(struct verify *v)
{
    for (size_t i = 1; i < v->n_sorted; i++) {
        const struct vcp *a = v->sorted[i - 1], *b = v->sorted[i];
        if (a->external || b->external)
            continue; /* a witness's disagreeing with the store is reported above */
        if (a->size == b->size && (memcmp(a->root, b->root, TRAIL_HASH_LEN) ||
                                   memcmp(a->chain, b->chain, TRAIL_HASH_LEN))) {
            char an[64], bn[64];
            verify_report(v, TRAIL_DAMAGE_FORK, 1, a->size,
                          b->external ? "(external)" : "checkpoints",
                          "%s and %s both sign size %" PRIu64 " with different trees",
                          cp_name(a, an), cp_name(b, bn), a->size);
        }
    }
}

/* The signatures of DIR/checkpoints that did not verify (checked by the workers). */
static void bad_signatures(struct verify *v)
{
    for (size_t i = 0; i < v->n_internal; i++) {
        if (!v->sig_bad[i])
            continue;
        const struct vcp *c = &v->cps[i];
        struct trail_checkpoint full;
        trail_checkpoint_parse(v->cp_text + v->cp_off[i], v->cp_linelen[i], &full);
        if (v->sig_bad[i] == 1)
            verify_report(v, TRAIL_DAMAGE_SIGNATURE, c->size, c->size, "checkpoints",
                          "line %" PRIu32 " (size %" PRIu64
                          ") has a signature that does not verify: "
                          "the checkpoint was altered or forged",
                          c->line, c->size);
        else
            verify_report(v, TRAIL_DAMAGE_SIGNATURE, c->size, c->size, "checkpoints",
                          "line %" PRIu32 " (size %" PRIu64 ") is signed by key %s, which is not "
                          "among the keys given",
                          c->line, c->size, full.key_id);
    }
}

/*
 * The segments joined in seq order, then everything checked against the
 * whole: purge anchors, tree.roots, the checkpoints. The order of the steps
 * is the order findings of equal seq are reported in.
 */
int verify_join(struct verify *v, struct trail_verify_report *rep)
{
    struct join_ctx jc = {.v = v, .rep = rep};
    int r;
    if ((r = collect_purges(&jc)) < 0 || (r = walk_segments(&jc)) < 0 ||
        (r = last_segment(&jc)) < 0 || (r = purge_anchors(&jc)) < 0)
        goto out;
    roots_beyond(&jc);
    if ((r = match_checkpoints(&jc)) < 0)
        goto out;
    checkpoint_forks(v);
    bad_signatures(v);
    /* last: it tells apart a store that fails already from one only signatures can fail */
    r = check_signed(v, rep);
out:
    free(jc.purges);
    return r;
}
