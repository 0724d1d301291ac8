/*
 * verify.c - trail_verify_store(): an auditor's check of a store directory;
 * here the call, the findings it collects and small helpers. The steps are
 * in verify_load.c (the directory), verify_side.c (tree.roots, anchors),
 * verify_read.c (each segment, the workers) and verify_join.c (the whole).
 *
 * It reads the files itself and trusts none of the store's bookkeeping (the
 * segment list, store.meta, tree.roots, anchors, the checkpoints file are all
 * things it checks, not things it believes). What it shares with the store
 * is only the byte formats (store/record.h, store/segment.h, docs/format.md) and the hashing
 * (integrity/merkle.h).
 *
 * Not for: repairing anything (the store's own recovery), proofs (proof.c),
 * deciding what to print (cli/verify.c).
 *
 * How it works. DIR/checkpoints, tree.roots and anchors are read first,
 * then the directory is listed (twice, joined: a live store renames files
 * while it is listed): a writer makes records durable before it writes the
 * checkpoints and group roots that cover them, so every record those cover
 * is in the segments listed after. The workers (one thread per CPU) first
 * check the checkpoint signatures in chunks; a checkpoint that does not
 * verify is never used as evidence. Then every segment is read once, start
 * to end, by one worker, from the state its own header records (chain head
 * and Merkle frontier before its first record): frame lengths and CRC-32C,
 * record versions, the seq of every record, the leaf hash, the chain, the
 * frontier; each completed group of 256 leaves is compared with tree.roots,
 * and the tree at every checkpoint size that falls in the segment is
 * compared with the checkpoint. A segment the listing missed anyway (a gap
 * whose next file exists now) is read then. Then one thread joins the
 * segments in seq order:
 * the state each segment ends with must be the state the next one starts
 * from (so the whole chain and tree are recomputed, just in pieces), the
 * first segment must start from the empty tree or from the anchor of the
 * purge that removed what came before, and every checkpoint must have been
 * met: one beyond the records is a truncated tail (the store's own) or a
 * rollback (a witness's), one before the retained records is recomputed
 * from tree.roots and anchors.
 *
 * Naming the first bad record. Structural damage names the exact seq (a
 * seq that jumps, repeats or goes back; a frame that fails its CRC). A
 * record whose bytes were changed with its checksums made to fit is
 * localised to the smallest span the stored hashes allow: from just after
 * the last signed checkpoint that held (or the segment's start) to the
 * first point where a stored hash stopped agreeing, narrowed to a group of
 * 256 when its root in tree.roots differs (the report gives seq ..
 * seq_last). A group root that matches is no evidence: whoever changed a
 * record could have rebuilt tree.roots.
 *
 * Memory: one read buffer and one decompression buffer per worker, reused;
 * nothing is allocated per record.
 */
#include "verify/verify_int.h"

void verify_note(struct verify *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    text_addline(v->notes, sizeof(v->notes), fmt, ap);
    va_end(ap);
}

int verify_add_finding(struct verify *v, const struct finding *f)
{
    pthread_mutex_lock(&v->lock);
    int r = 0;
    if (v->n_found == v->cap_found) {
        size_t cap = v->cap_found ? 2 * v->cap_found : 16;
        struct finding *p = realloc(v->found, cap * sizeof(*p));
        if (!p) {
            r = -ENOMEM;
            goto out;
        }
        v->found = p;
        v->cap_found = cap;
    }
    v->found[v->n_found++] = *f;
out:
    pthread_mutex_unlock(&v->lock);
    return r;
}

int verify_report(struct verify *v, int kind, uint64_t seq, uint64_t seq_last, const char *file,
                  const char *fmt, ...)
{
    struct finding f;
    f.kind = kind;
    f.seq = seq;
    f.seq_last = seq_last < seq ? seq : seq_last;
    snprintf(f.file, sizeof(f.file), "%s", file);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f.msg, sizeof(f.msg), fmt, ap);
    va_end(ap);
    return verify_add_finding(v, &f);
}

const char *trail_damage_name(int damage)
{
    static const char *const names[] = {
        [TRAIL_DAMAGE_NONE] = "ok",
        [TRAIL_DAMAGE_MODIFIED] = "modified",
        [TRAIL_DAMAGE_REMOVED] = "removed",
        [TRAIL_DAMAGE_INSERTED] = "inserted",
        [TRAIL_DAMAGE_DUPLICATED] = "duplicated",
        [TRAIL_DAMAGE_MOVED] = "moved",
        [TRAIL_DAMAGE_TRUNCATED] = "truncated",
        [TRAIL_DAMAGE_SEGMENT_MISSING] = "segment-missing",
        [TRAIL_DAMAGE_SEGMENT_REPLACED] = "segment-replaced",
        [TRAIL_DAMAGE_ROLLBACK] = "rollback",
        [TRAIL_DAMAGE_FORK] = "fork",
        [TRAIL_DAMAGE_SIGNATURE] = "bad-signature",
        [TRAIL_DAMAGE_CHECKPOINT] = "bad-checkpoint",
        [TRAIL_DAMAGE_CHECKSUM] = "checksum",
        [TRAIL_DAMAGE_FORMAT] = "format",
        [TRAIL_DAMAGE_SIDE_FILE] = "side-file",
        [TRAIL_DAMAGE_UNSIGNED] = "unsigned",
        [TRAIL_DAMAGE_QUARANTINED] = "quarantined",
        [TRAIL_DAMAGE_CHECKPOINT_TIME] = "checkpoint-time",
    };
    if (damage < 0 || (size_t)damage >= TRAIL_ARRAY_SIZE(names) || !names[damage])
        return "unknown";
    return names[damage];
}

/* ---- small helpers ---- */

void verify_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int verify_is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

int verify_frontier_eq(const struct trail_frontier *a, const struct trail_frontier *b)
{
    if (a->size != b->size)
        return 0;
    for (int k = 0; k < 64; k++)
        if ((a->size >> k) & 1 && memcmp(a->nodes[k], b->nodes[k], TRAIL_HASH_LEN) != 0)
            return 0;
    return 1;
}

int verify_read_file(int dir_fd, const char *name, uint8_t **ret, size_t *ret_len)
{
    int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int r = 0;
    uint8_t *p = NULL;
    size_t got = 0;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto out;
    }
    p = malloc((size_t)st.st_size + 1);
    if (!p) {
        r = -ENOMEM;
        goto out;
    }
    r = io_pread_full(fd, p, (size_t)st.st_size, 0, &got);
out:
    close(fd);
    if (r < 0) {
        free(p);
        return r;
    }
    *ret = p;
    *ret_len = got;
    return 0;
}

/* ---- the call ---- */

/* In seq order; damage that names no record (seq 0) after the rest. */
static int cmp_finding(const void *a, const void *b)
{
    const struct finding *x = a, *y = b;
    uint64_t xs = x->seq ? x->seq : UINT64_MAX, ys = y->seq ? y->seq : UINT64_MAX;
    if (xs != ys)
        return xs < ys ? -1 : 1;
    return x->kind - y->kind;
}

/* Where a checkpoint came from, for a report: the external file or its line. */
static const char *where(const struct vcp *c, char buf[64])
{
    if (c->external)
        snprintf(buf, 64, "external checkpoint %" PRIu32, c->external);
    else
        snprintf(buf, 64, "checkpoints line %" PRIu32, c->line);
    return buf;
}

/*
 * Bind each seal to its time (journald's CVE-2023-31439: a seal whose time
 * was not checked let a clock set back re-date the log). Every checkpoint
 * signs its time, so a later seal (a larger tree) dated before an earlier one
 * means a clock was set back when one of them was signed, or a key signed
 * out of turn; a seal dated after now was signed with a clock ahead, made to
 * outlive a retention or make records look older than they are. Either by
 * more than the tolerance: an honest clock steps a little (NTP). A seal in
 * the future is not the measure of the later ones (they would all look
 * backwards). The sorted checkpoints hold those whose signature did not
 * fail, by size.
 */
static void check_times(struct verify *v)
{
    int64_t tol =
        v->o->time_tolerance_us ? v->o->time_tolerance_us : TRAIL_VERIFY_TIME_TOLERANCE_US;
    int64_t now = v->o->now_us ? v->o->now_us : trail_now();
    const struct vcp *latest = NULL; /* the latest-dated of the smaller trees so far */
    char a[64], b[64], ta[32], tb[32];
    for (size_t i = 0; i < v->n_sorted;) {
        size_t end = i;
        while (end < v->n_sorted && v->sorted[end]->size == v->sorted[i]->size)
            end++;
        /* checkpoints of one size may be signed more than once, at any times */
        for (size_t k = i; k < end; k++) {
            const struct vcp *c = v->sorted[k];
            if (latest && tol >= 0 && c->time_us < latest->time_us &&
                latest->time_us - c->time_us > tol) {
                trail_time_format(c->time_us, ta);
                trail_time_format(latest->time_us, tb);
                verify_report(v, TRAIL_DAMAGE_CHECKPOINT_TIME, c->size, c->size,
                              c->external ? "(external)" : "checkpoints",
                              "%s (size %" PRIu64 ") is dated %s, before %s (size %" PRIu64
                              ", dated %s): its time goes backwards (%" PRId64
                              " s of clock skew are tolerated)",
                              where(c, a), c->size, ta, where(latest, b), latest->size, tb,
                              tol / 1000000);
            }
            if (tol >= 0 && c->time_us > now && c->time_us - now > tol) {
                trail_time_format(c->time_us, ta);
                trail_time_format(now, tb);
                verify_report(v, TRAIL_DAMAGE_CHECKPOINT_TIME, c->size, c->size,
                              c->external ? "(external)" : "checkpoints",
                              "%s (size %" PRIu64 ") is dated %s, in the future: now is %s and "
                              "%" PRId64 " s of clock skew are tolerated",
                              where(c, a), c->size, ta, tb, tol / 1000000);
            }
        }
        for (size_t k = i; k < end; k++) {
            const struct vcp *c = v->sorted[k];
            int future = tol >= 0 && c->time_us > now && c->time_us - now > tol;
            if (!future && (!latest || c->time_us > latest->time_us))
                latest = c;
        }
        i = end;
    }
}

/*
 * Segments the listing missed: after two segments read one after the other
 * with a gap between them, a file for the first missing seq that exists now
 * is read too, and so on until no gap can be filled that way. (A live
 * store's sealer renames files while the directory is listed; two listings
 * in a row make a miss rare, this makes it harmless.) Returns 0 or -ENOMEM.
 */
static int fill_gaps(struct verify *v, struct worker *w)
{
    for (int rounds = 0; rounds < 100000; rounds++) {
        struct seg_job found;
        int have = 0;
        for (size_t i = 1; i < v->n_segs && !have; i++) {
            const struct seg_job *a = &v->segs[i - 1], *b = &v->segs[i];
            if (a->header_ok != 1 || b->header_ok != 1 || a->stopped || a->error ||
                b->h.first_seq <= a->last_seq + 1)
                continue;
            for (int sealed = 1; sealed >= 0 && !have; sealed--) {
                struct stat st;
                memset(&found, 0, sizeof(found));
                found.name_seq = a->last_seq + 1;
                found.sealed = sealed;
                snprintf(found.name, sizeof(found.name), "seg-%016" PRIx64 "%s", found.name_seq,
                         sealed ? ".seg" : ".open");
                have = fstatat(v->dir_fd, found.name, &st, 0) == 0;
            }
        }
        if (!have)
            return 0;
        if (v->n_segs == v->cap_segs) {
            size_t cap = 2 * v->cap_segs + 16;
            struct seg_job *p = realloc(v->segs, cap * sizeof(*p));
            if (!p)
                return -ENOMEM;
            v->segs = p;
            v->cap_segs = cap;
        }
        struct seg_job *j = &v->segs[v->n_segs++];
        *j = found;
        int r = verify_read_segment(w, j);
        if (r < 0 && !j->error)
            j->error = r;
        if (j->error == -ENOMEM)
            return -ENOMEM;
        qsort(v->segs, v->n_segs, sizeof(*v->segs), verify_cmp_job);
    }
    return 0;
}

int trail_verify_store(const char *dir, const struct trail_verify_opts *opts,
                       struct trail_verify_report *ret)
{
    static const struct trail_verify_opts none = {0};
    struct verify *v = calloc(1, sizeof(*v));
    struct trail_verify_report *rep = calloc(1, sizeof(*rep));
    struct worker *workers = NULL;
    pthread_t *tids = NULL;
    int n_threads = 0, r;
    if (!v || !rep) {
        free(v);
        free(rep);
        return -ENOMEM;
    }
    pthread_mutex_init(&v->lock, NULL);
    v->dir = dir;
    v->o = opts ? opts : &none;
    v->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (v->dir_fd < 0) {
        r = errno == ENOENT ? TRAIL_E_NOT_FOUND : -errno;
        goto out;
    }
    if ((r = verify_list_segments(v)) < 0 || (r = verify_load_store_id(v)) < 0)
        goto out;
    if (!v->have_id && v->n_segs == 0) {
        r = TRAIL_E_NOT_FOUND;
        goto out;
    }
    memcpy(rep->store_id, v->origin, sizeof(rep->store_id));
    if ((r = verify_load_side_files(v)) < 0 || (r = verify_load_checkpoints(v, rep)) < 0)
        goto out;
    /* the segments again, now: a live writer makes records durable before it writes the
       checkpoints and group roots that cover them, so every segment those read above
       cover is in this list, with at least the records they cover */
    if ((r = verify_list_segments(v)) < 0)
        goto out;

    n_threads = v->o->threads > 0 ? v->o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n_threads < 1)
        n_threads = 1;
    if (n_threads > MAX_THREADS)
        n_threads = MAX_THREADS;
    workers = calloc((size_t)n_threads, sizeof(*workers));
    tids = calloc((size_t)n_threads, sizeof(*tids));
    if (!workers || !tids) {
        r = -ENOMEM;
        goto out;
    }
    for (int i = 0; i < n_threads; i++) {
        workers[i].v = v;
        workers[i].dctx = ZSTD_createDCtx();
        if (!workers[i].dctx) {
            r = -ENOMEM;
            goto out;
        }
    }
    if (v->o->n_keys && v->n_internal)
        verify_run_pool(v, workers, tids, n_threads, 0,
                        (v->n_internal + SIG_CHUNK - 1) / SIG_CHUNK);
    if ((r = verify_sort_checkpoints(v)) < 0)
        goto out;
    check_times(v);
    rep->threads = verify_run_pool(v, workers, tids, n_threads, 1, v->n_segs);
    rep->signatures = v->signatures;
    if ((r = fill_gaps(v, &workers[0])) < 0)
        goto out;

    if ((r = verify_join(v, rep)) < 0)
        goto out;
    for (size_t i = 0; i < v->n_segs; i++)
        if (v->segs[i].error == -ENOMEM) {
            r = -ENOMEM;
            goto out;
        }
    if (v->n_found)
        qsort(v->found, v->n_found, sizeof(*v->found), cmp_finding);
    rep->n_damage = (uint32_t)v->n_found;
    for (size_t i = 0; i < v->n_found && i < TRAIL_VERIFY_MAX_DAMAGE; i++) {
        struct trail_verify_damage *d = &rep->damage[i];
        d->kind = v->found[i].kind;
        d->seq = v->found[i].seq;
        d->seq_last = v->found[i].seq_last;
        snprintf(d->file, sizeof(d->file), "%s", v->found[i].file);
        snprintf(d->message, sizeof(d->message), "%s", v->found[i].msg);
    }
    memcpy(rep->notes, v->notes, sizeof(rep->notes));
    *ret = *rep;
    r = 0;
out:
    for (int i = 0; workers && i < n_threads; i++) {
        trail_buf_free(&workers[i].in);
        trail_buf_free(&workers[i].raw);
        ZSTD_freeDCtx(workers[i].dctx);
    }
    free(workers);
    free(tids);
    for (size_t i = 0; i < v->n_segs; i++)
        free(v->segs[i].purges);
    free(v->segs);
    free(v->roots);
    free(v->anchors);
    if (v->cp_text)
        munmap((void *)v->cp_text, v->cp_len);
    free(v->cp_off);
    free(v->cp_linelen);
    free(v->cps);
    free(v->sorted);
    free(v->sig_bad);
    free(v->found);
    if (v->dir_fd >= 0)
        close(v->dir_fd);
    pthread_mutex_destroy(&v->lock);
    free(v);
    free(rep);
    return r;
}
