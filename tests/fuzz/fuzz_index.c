/*
 * fuzz_index.c - libFuzzer target for the index reader: a sealed segment's
 * .idx file read in place (qindex_view in lib/query/index_file.c) and every
 * structure in it walked: units and their parts, the event dictionary and
 * bitsets, the hourly rollup, the value rollups of every key (version 2:
 * each key's zstd block, dictionary and tuples), the term buckets and their
 * postings (word terms by units or by parts, value terms, both codings;
 * format versions 1 and 2).
 *
 * The first input byte is dropped; its bit 0 makes the target fix the
 * trailer up (length and CRC-32C), so that mutations get past the checksum
 * and reach the parsers behind it. The store id is not checked (no id is
 * given to the reader). Lookups use the hashes at each bucket's start and
 * ones taken from the input. Nothing may crash or read out of bounds;
 * refusals (TRAIL_E_CORRUPT, TRAIL_E_VERSION) are fine.
 *
 * In ordinary builds tests/fuzz/replay.c runs this over corpus/fuzz_index/,
 * which starts from .idx files of stores the generator filled (version 1
 * files, and version 2 ones with parts) and of small builders with value
 * rollups (version 2).
 */
#include "query/query.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static int count_rollup(void *arg, const struct qrollup *r)
{
    (void)r;
    return ++*(int *)arg >= 100000;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int fix = data[0] & 1;
    size_t len = size - 1;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        abort();
    memcpy(buf, data + 1, len);
    if (fix && len >= 16 + 64) {
        for (int i = 0; i < 8; i++)
            buf[len - 16 + i] = (uint8_t)((uint64_t)len >> (8 * i));
        uint32_t crc = crc32c(0, buf, len - 16);
        for (int i = 0; i < 4; i++)
            buf[len - 8 + i] = (uint8_t)(crc >> (8 * i));
    }
    struct qindex ix;
    if (qindex_view(buf, len, NULL, &ix) == 0) {
        uint32_t nu = qindex_n_units(&ix), ne = qindex_n_events(&ix);
        for (uint32_t u = 0; u < nu && u < 10000; u++) {
            struct qunit qu;
            qindex_unit(&ix, u, &qu);
            for (uint32_t e = 0; e < ne && e < 300; e++)
                qindex_unit_has_event(&ix, u, e);
            /* a view that took the file holds parts that add up to the unit */
            uint32_t starts[QPARTS + 1];
            uint32_t np = qindex_unit_parts(&ix, u, starts);
            if (np < 1 || np > QPARTS || starts[0] != 0 || starts[np] != qu.count)
                abort();
            for (uint32_t k = 0; k < np; k++)
                if (starts[k + 1] <= starts[k])
                    abort();
        }
        for (uint32_t e = 0; e < ne; e++) {
            size_t n;
            const char *id = qindex_event(&ix, e, &n);
            if (!id || strlen(id) > n)
                abort();
        }
        qindex_key_indexed(&ix, "duser", 5);
        int rolled = 0;
        qindex_rollup(&ix, count_rollup, &rolled);
        /* every key the value rollups name (qindex_view checked the blocks' bounds) */
        struct qvroll vr = {0};
        const uint8_t *p = ix.vroll, *vend = ix.vroll ? ix.vroll + ix.vroll_len : NULL;
        for (uint32_t k = 0; p && k < ix.n_vkeys && p < vend; k++) {
            char key[256];
            memcpy(key, p + 1, p[0]);
            key[p[0]] = '\0';
            size_t klen = p[0];
            p += 1 + p[0];
            uint64_t blen = 0;
            for (int shift = 0; p < vend && shift < 64; shift += 7) {
                blen |= (uint64_t)(*p & 0x7f) << shift;
                if (!(*p++ & 0x80))
                    break;
            }
            if (qindex_vrollup(&ix, key, klen, &vr) == 1) {
                for (uint32_t j = 0; j < vr.n_tuples; j++)
                    if (vr.t[j].entry >= ix.n_rollup || vr.t[j].value >= vr.n_values)
                        abort();
                for (uint32_t j = 0; j < vr.n_values; j++)
                    if (vr.vlen[j] > vr.raw.len)
                        abort();
            }
            if (blen > (uint64_t)(vend - p))
                break;
            p += blen;
        }
        qvroll_free(&vr);
        struct qpost post = {0};
        uint32_t step = ix.n_buckets > 256 ? ix.n_buckets / 256 : 1;
        for (uint32_t b = 0; b < ix.n_buckets; b += step) {
            uint32_t h = ix.bucket_bits ? b << (32 - ix.bucket_bits) : 0;
            /* a word's units ascend, each with a part mask naming parts it has */
            if (qindex_lookup(&ix, QTERM_WORD, h, &post) == 1)
                for (uint32_t i = 0; i < post.n; i++) {
                    if (post.m[i] == 0 || (i && post.v[i] <= post.v[i - 1]))
                        abort();
                    if (post.m[i] == UINT32_MAX)
                        continue; /* the unit, any part of it */
                    uint32_t starts[QPARTS + 1];
                    uint32_t np = post.v[i] < nu ? qindex_unit_parts(&ix, post.v[i], starts) : 0;
                    if (np == 0 || (np < 32 && post.m[i] >> np))
                        abort();
                }
            qindex_lookup(&ix, QTERM_VALUE, h, &post);
        }
        /* hashes the input carries, e.g. the first entries of the term data */
        for (size_t off = 0; off + 4 <= len && off < 4096; off += 61) {
            qindex_lookup(&ix, QTERM_WORD, le32(buf + off), &post);
            qindex_lookup(&ix, QTERM_VALUE, le32(buf + off), &post);
        }
        qpost_free(&post);
        qindex_free(&ix);
    }
    free(buf);
    return 0;
}
