// c2sp_verify - an independent check of trail's C2SP checkpoints and tiles.
//
// Built only from Go's standard library and Debian's golang.org/x/mod
// (sumdb/note for the signed note, sumdb/tlog for the tree): none of trail's
// code. It reads a log's checkpoint and tiles (C2SP tlog-tiles) from a
// directory (`trail tiles --out`) or a URL (traild's read API), then:
//
//   - opens the checkpoint with the verifier key (note.Open): signature, key
//     name and key id;
//   - reads the tlog-checkpoint body: origin (== the key name), size, root;
//   - recomputes the root from the hash tiles (tlog.TileHashReader checks
//     every tile it reads against the checkpoint's root);
//   - for -entries K entries spread over the log (seeded; the newest first),
//     reads the entry bundle, checks every entry in it against the leaf
//     hashes of the tiles, and checks an inclusion proof of the entry built
//     from the tiles (tlog.ProveRecord, tlog.CheckRecord);
//   - with -old FILE, an earlier checkpoint: opens it and checks that the
//     new tree extends it (tlog.ProveTree, tlog.CheckTree);
//   - with -cosigner VKEY, a witness's C2SP cosignature/v1 on the checkpoint,
//     checked by hand (sumdb/note knows Ed25519 note signatures, type 0x01,
//     not cosignatures, type 0x04): the key id SHA-256(name || 0x0A || 0x04 ||
//     key)[:4], and the Ed25519 signature over "cosignature/v1\ntime T\n" and
//     the note's text, T being the 8 big-endian bytes after the key id.
//
// A pruned log (tlog-tiles "Pruning"): the minimum index is read from
// minimum-index (trail's place for it; absent: 0, an unpruned log). It must
// not exceed the size; entries are chosen at or above it, and the tiles they
// need must be there, as the spec promises. With -pruned-check, an entry
// bundle wholly below it must be refused (404 or no file).
//
// Prints "ok ..." and exits 0, or the first failure and exits 1 (2: usage).
//
// Adapter: Go's tlog names a tile tile/H/L/N[.p/W] with H = 8 and entries as
// level "data"; C2SP tlog-tiles drops H and calls the data level "entries".
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

var (
	dir    = flag.String("dir", "", "read the tiles from this directory")
	url    = flag.String("url", "", "read the tiles from this base URL")
	token  = flag.String("token", "", "bearer token for -url")
	vkey   = flag.String("vkey", "", "the verifier key NAME+ID+KEY")
	old    = flag.String("old", "", "an earlier checkpoint (signed note file) the tree must extend")
	nEntry = flag.Int("entries", 16, "entries to check inclusion of")
	seed   = flag.Int64("seed", 1, "seed for choosing the entries")
	cpFile = flag.String("checkpoint", "", "read the checkpoint from this file instead")
	pruned = flag.Bool("pruned-check", false, "an entry bundle below the minimum index must be refused")
	cosign = flag.String("cosigner", "", "a witness's verifier key NAME+ID+BASE64(0x04 || key): its cosignature must verify")
)

// minimumIndex reads the log's minimum index: 0 when it publishes none.
func minimumIndex() (int64, error) {
	data, err := fetch("minimum-index")
	if err != nil {
		return 0, nil
	}
	text := strings.TrimSuffix(string(data), "\n")
	m, err := strconv.ParseInt(text, 10, 64)
	if err != nil || m < 0 || strconv.FormatInt(m, 10) != text {
		return 0, fmt.Errorf("minimum-index %q", data)
	}
	return m, nil
}

func fetch(path string) ([]byte, error) {
	if *dir != "" {
		return os.ReadFile(filepath.Join(*dir, filepath.FromSlash(path)))
	}
	req, err := http.NewRequest("GET", strings.TrimSuffix(*url, "/")+"/"+path, nil)
	if err != nil {
		return nil, err
	}
	if *token != "" {
		req.Header.Set("Authorization", "Bearer "+*token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return body, nil
}

// c2spPath turns Go's tile path into the C2SP one.
func c2spPath(t tlog.Tile) string {
	p := t.Path()
	if t.L == -1 {
		return strings.Replace(p, fmt.Sprintf("tile/%d/data/", height), "tile/entries/", 1)
	}
	return strings.Replace(p, fmt.Sprintf("tile/%d/", height), "tile/", 1)
}

type tileReader struct{}

func (tileReader) Height() int { return height }

func (tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := fetch(c2spPath(t))
		if err != nil {
			return nil, err
		}
		if len(data) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("%s: %d bytes, want %d", c2spPath(t), len(data), t.W*tlog.HashSize)
		}
		out[i] = data
	}
	return out, nil
}

func (tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

type checkpoint struct {
	origin string
	tree   tlog.Tree
	ext    []string
}

// open checks the note's signature and reads its tlog-checkpoint body.
func open(msg []byte, v note.Verifier) (checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return checkpoint{}, fmt.Errorf("signature: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		return checkpoint{}, errors.New("body: fewer than three lines")
	}
	var c checkpoint
	c.origin = lines[0]
	if c.origin != v.Name() {
		return checkpoint{}, fmt.Errorf("origin %q is not the key's name %q", c.origin, v.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return checkpoint{}, fmt.Errorf("size %q", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return checkpoint{}, fmt.Errorf("root %q", lines[2])
	}
	c.tree.N = size
	copy(c.tree.Hash[:], root)
	for _, l := range lines[3:] {
		if l == "" {
			return checkpoint{}, errors.New("body: an empty extension line")
		}
		c.ext = append(c.ext, l)
	}
	return c, nil
}

// cosigned checks the cosignature/v1 of the witness vk (NAME+ID+BASE64) on
// the note msg, which v (the log's key) opens; it returns the witness's time.
func cosigned(msg []byte, v note.Verifier, vk string) (uint64, error) {
	parts := strings.SplitN(vk, "+", 3)
	if len(parts) != 3 {
		return 0, errors.New("cosigner key: not NAME+ID+KEY")
	}
	key, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(key) != 33 || key[0] != 0x04 {
		return 0, errors.New("cosigner key: not a cosignature/v1 (0x04) Ed25519 key")
	}
	h := sha256.Sum256(append([]byte(parts[0]+"\n\x04"), key[1:]...))
	id := binary.BigEndian.Uint32(h[:4])
	if fmt.Sprintf("%08x", id) != parts[1] {
		return 0, errors.New("cosigner key: its key id is not the name's and key's")
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return 0, fmt.Errorf("signature: %v", err)
	}
	for _, sig := range n.UnverifiedSigs {
		if sig.Name != parts[0] || sig.Hash != id {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(sig.Base64)
		if err != nil || len(b) != 4+8+ed25519.SignatureSize {
			return 0, errors.New("cosignature: not key id, time and signature")
		}
		t := binary.BigEndian.Uint64(b[4:12])
		var m bytes.Buffer
		fmt.Fprintf(&m, "cosignature/v1\ntime %d\n%s", t, n.Text)
		if !ed25519.Verify(ed25519.PublicKey(key[1:]), m.Bytes(), b[12:]) {
			return 0, errors.New("cosignature: does not verify")
		}
		return t, nil
	}
	return 0, fmt.Errorf("no cosignature of %s on the checkpoint", parts[0])
}

// entries reads the entry bundle holding leaf i of a tree of size n.
func entries(i, n int64) ([][]byte, int64, error) {
	tileN := i / 256
	w := n - tileN*256
	if w > 256 {
		w = 256
	}
	t := tlog.Tile{H: height, L: -1, N: tileN, W: int(w)}
	data, err := fetch(c2spPath(t))
	if err != nil {
		return nil, 0, err
	}
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, 0, errors.New("entry bundle: a cut length")
		}
		l := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+l {
			return nil, 0, errors.New("entry bundle: a cut entry")
		}
		out = append(out, data[2:2+l])
		data = data[2+l:]
	}
	if int64(len(out)) != w {
		return nil, 0, fmt.Errorf("entry bundle %s: %d entries, want %d", c2spPath(t), len(out), w)
	}
	return out, tileN * 256, nil
}

func run() error {
	if *vkey == "" || (*dir == "") == (*url == "") {
		return errors.New("usage")
	}
	v, err := note.NewVerifier(*vkey)
	if err != nil {
		return fmt.Errorf("verifier key: %v", err)
	}
	var msg []byte
	if *cpFile != "" {
		msg, err = os.ReadFile(*cpFile)
	} else {
		msg, err = fetch("checkpoint")
	}
	if err != nil {
		return err
	}
	c, err := open(msg, v)
	if err != nil {
		return fmt.Errorf("checkpoint: %v", err)
	}
	hr := tlog.TileHashReader(c.tree, tileReader{})
	if c.tree.N > 0 {
		h, err := tlog.TreeHash(c.tree.N, hr)
		if err != nil {
			return fmt.Errorf("tiles: %v", err)
		}
		if h != c.tree.Hash {
			return fmt.Errorf("tiles: root %v, checkpoint says %v", h, c.tree.Hash)
		}
	}
	minIndex, err := minimumIndex()
	if err != nil {
		return err
	}
	if minIndex > c.tree.N {
		return fmt.Errorf("minimum index %d is above the size %d", minIndex, c.tree.N)
	}
	if *pruned {
		if minIndex < 256 {
			return fmt.Errorf("minimum index %d: no whole entry bundle below it", minIndex)
		}
		t := tlog.Tile{H: height, L: -1, N: minIndex/256 - 1, W: 256}
		if _, err := fetch(c2spPath(t)); err == nil {
			return fmt.Errorf("%s is below the minimum index %d and still served", c2spPath(t), minIndex)
		}
	}
	rng := rand.New(rand.NewSource(*seed))
	checked := 0
	for k := 0; k < *nEntry && c.tree.N > minIndex; k++ {
		i := minIndex + rng.Int63n(c.tree.N-minIndex)
		if k == 0 {
			i = c.tree.N - 1 // the newest entry, in the partial tile
		}
		bundle, first, err := entries(i, c.tree.N)
		if err != nil {
			return err
		}
		// every entry of the bundle against the level-0 tiles (which TileHashReader
		// checked against the root)
		for j, e := range bundle {
			hs, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, first+int64(j))})
			if err != nil {
				return fmt.Errorf("entry %d: %v", first+int64(j), err)
			}
			if tlog.RecordHash(e) != hs[0] {
				return fmt.Errorf("entry %d: its hash is not the tree's leaf", first+int64(j))
			}
		}
		leaf := tlog.RecordHash(bundle[i-first])
		p, err := tlog.ProveRecord(c.tree.N, i, hr)
		if err != nil {
			return fmt.Errorf("entry %d: proof: %v", i, err)
		}
		if err := tlog.CheckRecord(p, c.tree.N, c.tree.Hash, i, leaf); err != nil {
			return fmt.Errorf("entry %d: not in the tree: %v", i, err)
		}
		checked++
	}
	line := fmt.Sprintf("ok %s size %d root %s, %d entries included", c.origin, c.tree.N,
		base64.StdEncoding.EncodeToString(c.tree.Hash[:]), checked)
	if minIndex > 0 {
		line += fmt.Sprintf(", minimum index %d", minIndex)
	}
	if *old != "" {
		omsg, err := os.ReadFile(*old)
		if err != nil {
			return err
		}
		o, err := open(omsg, v)
		if err != nil {
			return fmt.Errorf("old checkpoint: %v", err)
		}
		if o.tree.N < minIndex {
			return fmt.Errorf("old checkpoint's size %d is below the minimum index %d", o.tree.N, minIndex)
		}
		if o.tree.N > c.tree.N {
			return fmt.Errorf("old checkpoint is larger (%d > %d)", o.tree.N, c.tree.N)
		}
		p, err := tlog.ProveTree(c.tree.N, o.tree.N, hr)
		if err != nil {
			return fmt.Errorf("consistency proof: %v", err)
		}
		if err := tlog.CheckTree(p, c.tree.N, c.tree.Hash, o.tree.N, o.tree.Hash); err != nil {
			return fmt.Errorf("not consistent with the old checkpoint: %v", err)
		}
		line += fmt.Sprintf(", consistent with size %d", o.tree.N)
	}
	if *cosign != "" {
		t, err := cosigned(msg, v, *cosign)
		if err != nil {
			return err
		}
		line += fmt.Sprintf(", cosigned by %s at %d", strings.SplitN(*cosign, "+", 2)[0], t)
	}
	fmt.Println(line)
	return nil
}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "c2sp_verify:", err)
		if err.Error() == "usage" {
			flag.Usage()
			os.Exit(2)
		}
		os.Exit(1)
	}
}
