/*
 * verify_load.c - loading the store directory for trail_verify_store(): the
 * segment list (taken twice and joined), the store id and origin, and
 * DIR/checkpoints with the caller's external checkpoints, sorted by size.
 *
 * Not here: tree.roots and anchors (verify_side.c), reading segments
 * (verify_read.c).
 */
#include "verify/verify_int.h"

/* ---- loading the directory ---- */

int verify_cmp_job(const void *a, const void *b)
{
    const struct seg_job *x = a, *y = b;
    if (x->name_seq != y->name_seq)
        return x->name_seq < y->name_seq ? -1 : 1;
    return x->sealed - y->sealed;
}

/* Add the segment files the directory lists now to v->segs (duplicates included). */
static int read_dir(struct verify *v)
{
    int fd = openat(v->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -errno;
    }
    struct dirent *e;
    int r = 0;
    while ((e = readdir(d))) {
        const char *name = e->d_name;
        size_t len = strlen(name);
        if (strncmp(name, "seg-", 4) != 0 || len < 4 + 16 + 4)
            continue;
        char *endp;
        uint64_t first = strtoull(name + 4, &endp, 16);
        if (endp != name + 20)
            continue;
        int sealed = strcmp(endp, ".seg") == 0;
        if (!sealed && strcmp(endp, ".open") != 0)
            continue;
        if (v->n_segs == v->cap_segs) {
            size_t cap = v->cap_segs ? 2 * v->cap_segs : 64;
            struct seg_job *p = realloc(v->segs, cap * sizeof(*p));
            if (!p) {
                r = -ENOMEM;
                break;
            }
            v->segs = p;
            v->cap_segs = cap;
        }
        struct seg_job *j = &v->segs[v->n_segs++];
        memset(j, 0, sizeof(*j));
        j->name_seq = first;
        j->sealed = sealed;
        snprintf(j->name, sizeof(j->name), "%.39s", name);
    }
    closedir(d);
    return r;
}

/*
 * The segments, in seq order, one per first seq. The directory is listed
 * twice and the lists joined: while a live store seals a segment (writes
 * seg-N.seg, then removes seg-N.open) one readdir can miss both names, two
 * in a row cannot. Where both exist, the .seg is read (it is only renamed
 * into place once complete; a .open left beside it is a leftover).
 */
int verify_list_segments(struct verify *v)
{
    free(v->segs);
    v->segs = NULL;
    v->n_segs = v->cap_segs = 0;
    int r = read_dir(v);
    if (r == 0)
        r = read_dir(v);
    if (r < 0)
        return r;
    if (v->n_segs)
        qsort(v->segs, v->n_segs, sizeof(*v->segs), verify_cmp_job);
    size_t out = 0;
    for (size_t i = 0; i < v->n_segs; i++) {
        if (i + 1 < v->n_segs && v->segs[i + 1].name_seq == v->segs[i].name_seq)
            continue; /* keep the last of a run: the .seg sorts after the .open */
        v->segs[out++] = v->segs[i];
    }
    v->n_segs = out;
    if (v->n_segs)
        v->segs[v->n_segs - 1].is_last = 1;
    return 0;
}

int verify_load_store_id(struct verify *v)
{
    uint8_t *m = NULL;
    size_t len = 0;
    int r = verify_read_file(v->dir_fd, "store.meta", &m, &len);
    if (r == 0 && len == 64 && memcmp(m, "TRAILSTO", 8) == 0 && get_u16(m + 8) == 1 &&
        get_u32(m + 60) == crc32c(0, m, 60)) {
        memcpy(v->store_id, m + 16, 16);
        v->have_id = 1;
    } else if (r == 0 || r == -ENOENT) {
        verify_note(v, "store.meta: %s; the store id is taken from the first segment",
                    r == -ENOENT ? "missing" : "damaged");
    }
    free(m);
    if (r < 0 && r != -ENOENT)
        return r;
    r = 0;
    if (v->n_segs) {
        uint8_t h[TRAIL_SEG_HEADER_MAX];
        struct seg_header sh;
        size_t got = 0;
        int fd = openat(v->dir_fd, v->segs[0].name, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && io_pread_full(fd, h, sizeof(h), 0, &got) == 0 &&
            seg_header_decode(h, got, &sh) == 0) {
            if (!v->have_id) {
                memcpy(v->store_id, sh.store_id, 16);
                v->have_id = 1;
            } else if (memcmp(sh.store_id, v->store_id, 16) != 0) {
                char other[33];
                verify_hex(sh.store_id, 16, other);
                r = verify_report(v, TRAIL_DAMAGE_SIDE_FILE, 0, 0, "store.meta",
                                  "store.meta names another store than the first segment (%s)",
                                  other);
            }
        }
        if (fd >= 0)
            close(fd);
    }
    if (v->have_id) {
        verify_hex(v->store_id, 16, v->origin);
        int e = store_origin_read(v->dir_fd, v->store_id, v->name);
        if (e < 0 && r >= 0) {
            r = verify_report(v, TRAIL_DAMAGE_SIDE_FILE, 0, 0, "origin",
                              "origin is not one origin line: checkpoints are taken to name %s",
                              v->origin);
            memcpy(v->name, v->origin, sizeof(v->origin));
        }
    }
    return r < 0 ? r : 0;
}

static int cmp_vcp(const void *a, const void *b)
{
    const struct vcp *x = *(struct vcp *const *)a, *y = *(struct vcp *const *)b;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int add_cp(struct verify *v, size_t *cap, const struct trail_checkpoint *c, uint32_t line,
                  uint32_t external)
{
    if (v->n_cps == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        struct vcp *p = realloc(v->cps, *cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        v->cps = p;
        if (!external) {
            size_t *o = realloc(v->cp_off, *cap * sizeof(*o));
            if (!o)
                return -ENOMEM;
            v->cp_off = o;
            size_t *l = realloc(v->cp_linelen, *cap * sizeof(*l));
            if (!l)
                return -ENOMEM;
            v->cp_linelen = l;
        }
    }
    struct vcp *e = &v->cps[v->n_cps++];
    memset(e, 0, sizeof(*e));
    e->size = c->tree_size;
    memcpy(e->root, c->root, TRAIL_HASH_LEN);
    memcpy(e->chain, c->chain, TRAIL_HASH_LEN);
    e->line = line;
    e->external = external;
    e->time_us = c->time_us;
    return 0;
}

int verify_load_checkpoints(struct verify *v, struct trail_verify_report *rep)
{
    size_t cap = 0;
    int r;
    int fd = openat(v->dir_fd, "checkpoints", O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT)
        return -errno;
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) < 0) {
            r = -errno;
            close(fd);
            return r;
        }
        if (st.st_size > 0) {
            void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (m == MAP_FAILED) {
                r = -errno;
                close(fd);
                return r;
            }
            v->cp_text = m;
            v->cp_len = (size_t)st.st_size;
        }
        close(fd);
    }
    uint32_t line_no = 0;
    for (size_t pos = 0; pos < v->cp_len;) {
        const char *nl = memchr(v->cp_text + pos, '\n', v->cp_len - pos);
        size_t end = nl ? (size_t)(nl - v->cp_text) : v->cp_len;
        line_no++;
        struct trail_checkpoint c;
        if (!nl) {
            /* a last line without its '\n': a write a crash cut short (never synced) */
            verify_note(v, "checkpoints: unfinished last line %" PRIu32 " ignored", line_no);
            break;
        }
        if (trail_checkpoint_parse(v->cp_text + pos, end - pos, &c) < 0) {
            r = verify_report(v, TRAIL_DAMAGE_CHECKPOINT, 0, 0, "checkpoints",
                              "line %" PRIu32 " is not a checkpoint line", line_no);
        } else if (v->have_id && !verify_origin_ok(v, &c)) {
            r = verify_report(v, TRAIL_DAMAGE_CHECKPOINT, c.tree_size, c.tree_size, "checkpoints",
                              "line %" PRIu32 " is a checkpoint of another store (%s)", line_no,
                              c.origin);
        } else {
            r = add_cp(v, &cap, &c, line_no, 0);
            if (r == 0) {
                v->cp_off[v->n_cps - 1] = pos;
                v->cp_linelen[v->n_cps - 1] = end - pos;
                rep->latest_size = c.tree_size;
            }
        }
        if (r < 0)
            return r;
        pos = end + 1;
    }
    rep->checkpoints = line_no;
    v->n_internal = v->n_cps;
    v->sig_bad = calloc(v->n_internal ? v->n_internal : 1, sizeof(*v->sig_bad));
    if (!v->sig_bad)
        return -ENOMEM;
    for (size_t i = 0; i < v->o->n_checkpoints; i++) {
        const struct trail_checkpoint *c = &v->o->checkpoints[i];
        if (v->have_id && !verify_origin_ok(v, c)) {
            r = verify_report(
                v, TRAIL_DAMAGE_FORK, c->tree_size, c->tree_size, "(external)",
                "external checkpoint %zu is of store %s, but this store is %s: the store "
                "was replaced, or the checkpoint is another store's",
                i + 1, c->origin, v->name);
            if (r < 0)
                return r;
            continue;
        }
        if (v->o->n_keys) {
            const struct trail_key *key = verify_key_for(v, c);
            r = key ? trail_checkpoint_verify(c, key) : TRAIL_E_SIGNATURE;
            if (r == -ENOMEM)
                return r;
            if (r < 0) {
                r = verify_report(v, TRAIL_DAMAGE_SIGNATURE, c->tree_size, c->tree_size,
                                  "(external)",
                                  key ? "external checkpoint %zu (size %" PRIu64
                                        ") does not verify: it was altered or forged"
                                      : "external checkpoint %zu (size %" PRIu64
                                        ") is signed by key %s, which is not among the keys given",
                                  i + 1, c->tree_size, c->key_id);
                if (r < 0)
                    return r;
                continue;
            }
            v->signatures++;
        }
        if ((r = add_cp(v, &cap, c, 0, (uint32_t)i + 1)) < 0)
            return r;
    }
    rep->external = v->o->n_checkpoints;
    if (v->n_internal == 0 && v->o->n_checkpoints == 0)
        verify_note(v,
                    "no checkpoint in DIR/checkpoints and none given: nothing signed covers these "
                    "records (a cut tail would leave no trace; see 'trail checkpoint --help')");
    if (v->n_internal && !v->o->n_keys)
        verify_note(v, "no public key given: the signatures of %zu checkpoints were not checked",
                    v->n_internal);
    return 0;
}

/* The checkpoints taken as evidence, by size: all but those whose signature failed. */
int verify_sort_checkpoints(struct verify *v)
{
    v->sorted = malloc((v->n_cps ? v->n_cps : 1) * sizeof(*v->sorted));
    if (!v->sorted)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < v->n_cps; i++)
        if (i >= v->n_internal || !v->sig_bad[i])
            v->sorted[n++] = &v->cps[i];
    v->n_sorted = n;
    qsort(v->sorted, n, sizeof(*v->sorted), cmp_vcp);
    return 0;
}
