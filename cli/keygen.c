/*
 * keygen.c - `trail keygen`: make the Ed25519 key pair that signs a store's
 * checkpoints.
 *
 * Not here: the keys themselves and their files (lib/integrity/checkpoint.c,
 * trail_key_generate), signing checkpoints (the store).
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "NAME\n"
    "    trail keygen - make an Ed25519 key pair for signing checkpoints\n"
    "\n"
    "SYNOPSIS\n"
    "    trail keygen [--out PREFIX] [--origin ORIGIN]\n"
    "    trail keygen --key FILE --origin ORIGIN\n"
    "    trail keygen --key FILE --witness NAME\n"
    "\n"
    "DESCRIPTION\n"
    "    Makes a new Ed25519 key pair and writes it to two files:\n"
    "\n"
    "        PREFIX.key  the private key (PKCS#8 PEM), mode 0600. The store signs\n"
    "                    its checkpoints with it; keep it on the store's host,\n"
    "                    readable only by the account that runs traild.\n"
    "        PREFIX.pub  the public key (SubjectPublicKeyInfo PEM), mode 0644.\n"
    "                    Give it to auditors and witnesses: 'trail verify' and\n"
    "                    'trail proof check' use it to check signatures.\n"
    "\n"
    "    Neither file is ever overwritten: if either exists, nothing is written\n"
    "    and the command fails. Both are flushed to disk before it returns.\n"
    "\n"
    "    It prints the key id: the first 4 bytes of SHA-256 of the raw 32-byte\n"
    "    public key, as 8 hex digits. Every checkpoint names the id of the key\n"
    "    that signed it. The same id can be computed from the public key file\n"
    "    with OpenSSL alone:\n"
    "\n"
    "        openssl pkey -pubin -in PREFIX.pub -outform DER | tail -c 32 \\\n"
    "          | openssl dgst -sha256 -binary | head -c 4 | xxd -p\n"
    "\n"
    "    With --origin, it also prints the C2SP verifier key of the store whose\n"
    "    origin is ORIGIN (the name its checkpoints carry, docs/integrity.md):\n"
    "    ORIGIN+KEYID+BASE64, what C2SP tools (Go's golang.org/x/mod/sumdb/note,\n"
    "    witnesses) take to check its checkpoints. KEYID there is the note key\n"
    "    id, SHA-256(ORIGIN || 0x0A || 0x01 || public key)[0..4], which\n"
    "    checkpoints name. traild serves the same key at GET /v1/checkpoint.\n"
    "\n"
    "    With --witness, it prints instead the cosigner verifier key of a witness\n"
    "    that signs with the key under the name NAME ([witness] name in\n"
    "    traild.conf(5)): NAME+KEYID+BASE64 with the C2SP cosignature/v1 type\n"
    "    byte 0x04, KEYID = SHA-256(NAME || 0x0A || 0x04 || public key)[0..4].\n"
    "    It is what a witness policy (trail verify --policy) and a tlog-witness\n"
    "    sink (witness_key) name the witness by.\n"
    "\n"
    "    Keys made by 'openssl genpkey -algorithm ed25519' (unencrypted) work too.\n"
    "\n"
    "OPTIONS\n"
    "    -o, --out PREFIX\n"
    "        Where to write the files: PREFIX.key and PREFIX.pub. PREFIX may\n"
    "        include a directory, which must exist. Default: trail (in the\n"
    "        current directory).\n"
    "\n"
    "    --key FILE\n"
    "        Make nothing: print the verifier key of the existing key FILE\n"
    "        (public or private PEM) for --origin, on one line.\n"
    "\n"
    "    --origin ORIGIN\n"
    "        Print the verifier key for this origin: printable ASCII without\n"
    "        space or '+', as [store] origin in traild.conf(5).\n"
    "\n"
    "    --witness NAME\n"
    "        Print the cosigner verifier key of the witness NAME (the same name\n"
    "        rules as an origin) instead of a store's.\n"
    "\n"
    "    -h, --help\n"
    "        Print this help and exit.\n"
    "\n"
    "OUTPUT\n"
    "    Three lines on standard output, and a fourth with --origin:\n"
    "        key id 1a2b3c4d\n"
    "        private key PREFIX.key\n"
    "        public key PREFIX.pub\n"
    "        verifier key ORIGIN+5e6f7a8b+AU3c...\n"
    "\n"
    "EXIT STATUS\n"
    "    0  the key pair was written\n"
    "    1  it could not be (a file exists, a directory is missing, no space)\n"
    "    2  bad usage\n"
    "\n"
    "SEE ALSO\n"
    "    trail proof --help, trail verify --help, docs/integrity.md\n";

/* checked before the keys are made, so that a bad name leaves no files behind */
static int origin_ok(const char *origin)
{
    size_t len = strlen(origin);
    if (len == 0 || len > TRAIL_ORIGIN_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)origin[i] < 0x21 || (unsigned char)origin[i] > 0x7e || origin[i] == '+')
            return 0;
    return 1;
}

int cmd_keygen(int argc, char **argv)
{
    const char *cmd = argv[0];
    const char *prefix = "trail";
    const char *origin = NULL, *existing = NULL, *witness = NULL;
    struct trail_buf vkey = {0};
    char *priv_path = NULL, *pub_path = NULL;
    struct trail_key *key = NULL;
    int status, r;

    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (cli_is_option(arg, "-o", "--out")) {
            prefix = cli_option_value(argc, argv, &i, arg);
            if (!prefix || !*prefix)
                return cli_usage_error(cmd, "--out needs a PREFIX (files PREFIX.key, PREFIX.pub)");
        } else if (cli_is_option(arg, NULL, "--key")) {
            existing = cli_option_value(argc, argv, &i, arg);
            if (!existing || !*existing)
                return cli_usage_error(cmd, "--key needs a key FILE");
        } else if (cli_is_option(arg, NULL, "--origin")) {
            origin = cli_option_value(argc, argv, &i, arg);
            if (!origin || !origin_ok(origin))
                return cli_usage_error(cmd,
                                       "--origin needs a name of 1 to %d printable ASCII "
                                       "characters without space or '+'",
                                       TRAIL_ORIGIN_MAX);
        } else if (cli_is_option(arg, NULL, "--witness")) {
            witness = cli_option_value(argc, argv, &i, arg);
            if (!witness || !origin_ok(witness))
                return cli_usage_error(cmd,
                                       "--witness needs a name of 1 to %d printable ASCII "
                                       "characters without space or '+'",
                                       TRAIL_ORIGIN_MAX);
        } else if (arg[0] == '-') {
            return cli_usage_error(cmd, "unknown option '%s' (see 'trail keygen --help')", arg);
        } else {
            return cli_usage_error(cmd, "unexpected argument '%s' (to choose the files: --out %s)",
                                   arg, arg);
        }
    }
    if (witness && (!existing || origin))
        return cli_usage_error(cmd, "--witness NAME goes with --key FILE, without --origin");
    if (existing) {
        if (witness && trail_key_load_public(existing, &key) < 0 &&
            (r = trail_key_load_private(existing, &key)) < 0)
            return cli_fail(cmd, "cannot load %s: %s", existing,
                            r == TRAIL_E_PARSE ? "not a PEM Ed25519 key" : trail_strerror(r));
        if (witness) {
            if ((r = trail_witness_verifier(key, witness, &vkey)) < 0)
                status = cli_fail(cmd, "%s", trail_strerror(r));
            else
                status = printf("%.*s\n", (int)vkey.len, vkey.data) < 0;
            goto out;
        }
        if (!origin)
            return cli_usage_error(cmd, "--key FILE prints a verifier key: give --origin ORIGIN");
        if (trail_key_load_public(existing, &key) < 0 &&
            (r = trail_key_load_private(existing, &key)) < 0)
            return cli_fail(cmd, "cannot load %s: %s", existing,
                            r == TRAIL_E_PARSE ? "not a PEM Ed25519 key" : trail_strerror(r));
        if ((r = trail_key_verifier(key, origin, &vkey)) < 0)
            status = cli_fail(cmd, "%s", trail_strerror(r));
        else
            status = printf("%.*s\n", (int)vkey.len, vkey.data) < 0;
        goto out;
    }
    if (asprintf(&priv_path, "%s.key", prefix) < 0 || asprintf(&pub_path, "%s.pub", prefix) < 0) {
        status = cli_fail(cmd, "%s", strerror(ENOMEM));
        goto out;
    }
    r = trail_key_generate(priv_path, pub_path, &key);
    if (r == -EEXIST) {
        status = cli_fail(cmd, "%s or %s already exists; a key file is never overwritten",
                          priv_path, pub_path);
        goto out;
    }
    if (r < 0) {
        status =
            cli_fail(cmd, "cannot write %s and %s: %s", priv_path, pub_path, trail_strerror(r));
        goto out;
    }
    if (origin && (r = trail_key_verifier(key, origin, &vkey)) < 0) {
        status = cli_fail(cmd, "the keys are written, but '%s' is not an origin: %s", origin,
                          trail_strerror(r));
        goto out;
    }
    printf("key id %s\nprivate key %s\npublic key %s\n", trail_key_id(key), priv_path, pub_path);
    if (origin)
        printf("verifier key %.*s\n", (int)vkey.len, vkey.data);
    status = 0;
out:
    trail_key_free(key);
    trail_buf_free(&vkey);
    free(priv_path);
    free(pub_path);
    return status;
}
