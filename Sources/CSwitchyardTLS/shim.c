#ifdef __linux__
#include "CSwitchyardTLS.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include <arpa/inet.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

// Mozilla's "intermediate" profile (TLS 1.2 and 1.3), set explicitly: OpenSSL 3's defaults also offer
// CBC suites and the X448 and P-521 groups, which the profile leaves out.
static const char *const tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
static const char *const tls13_ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
static const char *const groups = "X25519:P-256:P-384";
static const unsigned char alpn_http11[] = "\x08http/1.1";
static const unsigned char session_id_context[] = "switchyard";

struct certificate_entry {
    SSL_CTX *ctx;
    char **names;
    size_t name_count;
};

/// A session ticket key: its name (sent in each ticket) and the keys that encrypt and authenticate it.
struct ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
    time_t created;
    int present;
};

/// Ticket keys live an hour as the current key (new tickets), then an hour as the previous one
/// (still accepted, and replaced by a ticket under the current key); sessions last an hour.
#define TICKET_KEY_ROTATION_SECONDS 3600
#define SESSION_TIMEOUT_SECONDS 3600

struct c_switchyard_tls_server {
    struct certificate_entry *entries;
    size_t count;
    pthread_mutex_t ticket_lock;
    struct ticket_key ticket_keys[2];  // current, previous
    int resumption;
};

static int server_index = -1;

static __thread char failure[256];

const char *c_switchyard_tls_failure(void) { return failure; }

/// Records OpenSSL's newest error (or `fallback`) as the failure, and empties the error queue.
static void record_failure(const char *fallback, char *target, size_t capacity) {
    unsigned long code = ERR_peek_last_error();
    if (code != 0) {
        char reason[200];
        ERR_error_string_n(code, reason, sizeof reason);
        snprintf(target, capacity, "%s: %s", fallback, reason);
    } else {
        snprintf(target, capacity, "%s", fallback);
    }
    ERR_clear_error();
}

// MARK: Callbacks

/// ALPN: http/1.1 if the client offers it; a client offering only other protocols goes on without ALPN.
static int select_alpn(
    SSL *ssl, const unsigned char **out, unsigned char *out_length, const unsigned char *in, unsigned int in_length, void *arg) {
    (void)ssl;
    (void)arg;
    unsigned char *selected = NULL;
    unsigned char length = 0;
    if (SSL_select_next_proto(&selected, &length, alpn_http11, sizeof alpn_http11 - 1, in, in_length) != OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    *out = selected;
    *out_length = length;
    return SSL_TLSEXT_ERR_OK;
}

/// SNI: the certificate with that exact name, else one with a wildcard for it ("*.example.com" for
/// "a.example.com"), else the default (no name, an IP address, an unknown name: never refused).
static int select_certificate(SSL *ssl, int *alert, void *arg) {
    (void)alert;
    const struct c_switchyard_tls_server *server = arg;
    const char *requested = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (requested == NULL || server->count < 2) return SSL_TLSEXT_ERR_OK;
    char name[256];
    size_t length = strlen(requested);
    if (length == 0 || length >= sizeof name) return SSL_TLSEXT_ERR_OK;
    for (size_t i = 0; i < length; i++) name[i] = (char)tolower((unsigned char)requested[i]);
    if (name[length - 1] == '.') length--;
    name[length] = 0;
    size_t chosen = 0;
    int found = 0;
    for (size_t i = 0; i < server->count && !found; i++) {
        for (size_t j = 0; j < server->entries[i].name_count; j++) {
            if (strcmp(server->entries[i].names[j], name) == 0) {
                chosen = i;
                found = 1;
                break;
            }
        }
    }
    const char *parent = strchr(name, '.');
    if (!found && parent != NULL && parent != name && parent[1] != 0) {
        for (size_t i = 0; i < server->count && !found; i++) {
            for (size_t j = 0; j < server->entries[i].name_count; j++) {
                const char *candidate = server->entries[i].names[j];
                if (candidate[0] == '*' && candidate[1] == '.' && strcmp(candidate + 1, parent) == 0) {
                    chosen = i;
                    found = 1;
                    break;
                }
            }
        }
    }
    if (found && chosen != 0) SSL_set_SSL_CTX(ssl, server->entries[chosen].ctx);
    return SSL_TLSEXT_ERR_OK;
}

static int make_ticket_key(struct ticket_key *key) {
    if (RAND_bytes(key->name, sizeof key->name) != 1 || RAND_bytes(key->aes, sizeof key->aes) != 1 ||
        RAND_bytes(key->hmac, sizeof key->hmac) != 1) {
        return -1;
    }
    key->created = time(NULL);
    key->present = 1;
    return 0;
}

/// Makes a new current key; the current one becomes the previous one, the previous one is dropped.
/// Called with the lock held.
static void rotate_locked(struct c_switchyard_tls_server *server) {
    struct ticket_key fresh;
    if (make_ticket_key(&fresh) != 0) return;  // no randomness now: keep the keys, try again later
    server->ticket_keys[1] = server->ticket_keys[0];
    server->ticket_keys[0] = fresh;
}

/// Session tickets under the server's rotating keys (one key ring for every certificate's context,
/// so for every event loop): AES-256-CBC and HMAC-SHA256, as OpenSSL's own tickets.
static int ticket_key_callback(SSL *ssl, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *cipher, EVP_MAC_CTX *mac, int encrypt) {
    struct c_switchyard_tls_server *server = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), server_index);
    if (server == NULL) return -1;
    struct ticket_key key;
    int result = 1;
    pthread_mutex_lock(&server->ticket_lock);
    if (!server->ticket_keys[0].present || time(NULL) - server->ticket_keys[0].created >= TICKET_KEY_ROTATION_SECONDS) {
        rotate_locked(server);
    }
    if (encrypt) {
        key = server->ticket_keys[0];
    } else if (server->ticket_keys[0].present && memcmp(key_name, server->ticket_keys[0].name, 16) == 0) {
        key = server->ticket_keys[0];
    } else if (server->ticket_keys[1].present && memcmp(key_name, server->ticket_keys[1].name, 16) == 0) {
        key = server->ticket_keys[1];
        result = 2;  // accepted, and renewed under the current key
    } else {
        key.present = 0;
    }
    pthread_mutex_unlock(&server->ticket_lock);
    // Unknown key: a full handshake; no key to encrypt with: no ticket (the session cache remains).
    if (!key.present) return 0;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.hmac, sizeof key.hmac),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (encrypt) {
        memcpy(key_name, key.name, 16);
        if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1 ||
            EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), NULL, key.aes, iv) != 1) {
            result = 0;
        }
    } else if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), NULL, key.aes, iv) != 1) {
        result = -1;
    }
    if (result > 0 && EVP_MAC_CTX_set_params(mac, params) != 1) result = -1;
    OPENSSL_cleanse(&key, sizeof key);
    return result;
}

void c_switchyard_tls_server_rotate_ticket_keys(c_switchyard_tls_server *server) {
    pthread_mutex_lock(&server->ticket_lock);
    rotate_locked(server);
    pthread_mutex_unlock(&server->ticket_lock);
}

/// Keys are never protected by a passphrase here: an encrypted key fails instead of prompting.
static int no_passphrase(char *buffer, int size, int rwflag, void *userdata) {
    (void)buffer;
    (void)size;
    (void)rwflag;
    (void)userdata;
    return -1;
}

// MARK: Server

/// OpenSSL writes to the socket with write(2), not send(2) with MSG_NOSIGNAL: a peer gone away would
/// raise SIGPIPE, whose default action ends the process. Ignored (as HAProxy and nginx do), unless
/// the process installed a handler of its own.
static void ignore_sigpipe(void) {
    struct sigaction current;
    if (sigaction(SIGPIPE, NULL, &current) == 0 && current.sa_handler == SIG_DFL) {
        struct sigaction ignore;
        memset(&ignore, 0, sizeof ignore);
        ignore.sa_handler = SIG_IGN;
        sigemptyset(&ignore.sa_mask);
        sigaction(SIGPIPE, &ignore, NULL);
    }
}

static pthread_once_t sigpipe_once = PTHREAD_ONCE_INIT;

static void make_server_index(void) { server_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL); }

static pthread_once_t server_index_once = PTHREAD_ONCE_INIT;

c_switchyard_tls_server *c_switchyard_tls_server_new(int resumption) {
    pthread_once(&sigpipe_once, ignore_sigpipe);
    pthread_once(&server_index_once, make_server_index);
    if (server_index < 0) return NULL;
    struct c_switchyard_tls_server *server = calloc(1, sizeof(struct c_switchyard_tls_server));
    if (server == NULL) return NULL;
    if (pthread_mutex_init(&server->ticket_lock, NULL) != 0) {
        free(server);
        return NULL;
    }
    server->resumption = resumption;
    return server;
}

static SSL_CTX *make_context(c_switchyard_tls_server *server, char *error, size_t capacity) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        record_failure("SSL_CTX_new", error, capacity);
        return NULL;
    }
    const char *step = NULL;
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) || !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION)) {
        step = "protocol versions";
    } else if (!SSL_CTX_set_cipher_list(ctx, tls12_ciphers)) {
        step = "TLS 1.2 ciphers";
    } else if (!SSL_CTX_set_ciphersuites(ctx, tls13_ciphersuites)) {
        step = "TLS 1.3 cipher suites";
    } else if (!SSL_CTX_set1_groups_list(ctx, groups)) {
        step = "groups";
    } else if (!SSL_CTX_set_dh_auto(ctx, 1)) {
        step = "DH parameters";
    } else if (!SSL_CTX_set_session_id_context(ctx, session_id_context, sizeof session_id_context - 1)) {
        step = "session id context";
    } else if (!SSL_CTX_set_ex_data(ctx, server_index, server) || !SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_callback)) {
        step = "session tickets";
    }
    if (step != NULL) {
        record_failure(step, error, capacity);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    // Partial writes: a write returns what went out (the connection keeps the rest queued). Released
    // buffers: an idle connection holds no 16 KiB record buffers. Read ahead: one recv per batch, not two
    // per record.
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(ctx, 1);
    if (server->resumption) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_set_timeout(ctx, SESSION_TIMEOUT_SECONDS);
    } else {
        // No cache, no TLS 1.2 ticket, no TLS 1.3 ticket (stateless or stateful): nothing to resume with.
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(ctx, 0);
    }
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
    SSL_CTX_set_tlsext_servername_callback(ctx, select_certificate);
    SSL_CTX_set_tlsext_servername_arg(ctx, server);
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    return ctx;
}

/// The DNS names a certificate answers for: its SAN DNS names, else its subject's CN (lower-cased).
static int collect_names(X509 *certificate, struct certificate_entry *entry) {
    GENERAL_NAMES *alternatives = X509_get_ext_d2i(certificate, NID_subject_alt_name, NULL, NULL);
    int count = alternatives ? sk_GENERAL_NAME_num(alternatives) : 0;
    entry->names = calloc((size_t)count + 1, sizeof(char *));
    if (entry->names == NULL) {
        GENERAL_NAMES_free(alternatives);
        return -1;
    }
    for (int i = 0; i < count; i++) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value(alternatives, i);
        if (name->type != GEN_DNS) continue;
        const unsigned char *data = ASN1_STRING_get0_data(name->d.dNSName);
        int length = ASN1_STRING_length(name->d.dNSName);
        if (length <= 0 || memchr(data, 0, (size_t)length) != NULL) continue;
        char *copy = strndup((const char *)data, (size_t)length);
        if (copy == NULL) continue;
        for (char *c = copy; *c; c++) *c = (char)tolower((unsigned char)*c);
        entry->names[entry->name_count++] = copy;
    }
    GENERAL_NAMES_free(alternatives);
    if (entry->name_count == 0) {
        char common[256];
        int length = X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, common, sizeof common);
        if (length > 0 && (size_t)length < sizeof common) {
            for (int i = 0; i < length; i++) common[i] = (char)tolower((unsigned char)common[i]);
            char *copy = strdup(common);
            if (copy != NULL) entry->names[entry->name_count++] = copy;
        }
    }
    return 0;
}

static void free_entry(struct certificate_entry *entry) {
    SSL_CTX_free(entry->ctx);
    for (size_t i = 0; i < entry->name_count; i++) free(entry->names[i]);
    free(entry->names);
}

int c_switchyard_tls_server_add(
    c_switchyard_tls_server *server, const char *certificate_pem, size_t certificate_length, const char *key_pem,
    size_t key_length, char *error, size_t error_capacity) {
    ERR_clear_error();
    if (certificate_length > 1 << 20 || key_length > 1 << 20) {
        snprintf(error, error_capacity, "certificate or key too large");
        return -1;
    }
    struct certificate_entry entry = {0};
    entry.ctx = make_context(server, error, error_capacity);
    if (entry.ctx == NULL) return -1;
    int result = -1;
    X509 *leaf = NULL;
    EVP_PKEY *key = NULL;
    BIO *bio = BIO_new_mem_buf(certificate_pem, (int)certificate_length);
    if (bio == NULL || (leaf = PEM_read_bio_X509_AUX(bio, NULL, no_passphrase, NULL)) == NULL) {
        record_failure("no certificate in certificate_pem", error, error_capacity);
        goto done;
    }
    if (SSL_CTX_use_certificate(entry.ctx, leaf) != 1) {
        record_failure("certificate refused", error, error_capacity);
        goto done;
    }
    // The rest of the PEM is the chain, sent after the leaf in this order.
    for (;;) {
        X509 *intermediate = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
        if (intermediate == NULL) break;
        if (SSL_CTX_add0_chain_cert(entry.ctx, intermediate) != 1) {
            X509_free(intermediate);
            record_failure("chain certificate refused", error, error_capacity);
            goto done;
        }
    }
    ERR_clear_error();  // the end of the PEM ("no start line")
    BIO_free(bio);
    bio = BIO_new_mem_buf(key_pem, (int)key_length);
    if (bio == NULL || (key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)) == NULL) {
        record_failure("no private key in private_key_pem (or one protected by a passphrase)", error, error_capacity);
        goto done;
    }
    if (SSL_CTX_use_PrivateKey(entry.ctx, key) != 1 || SSL_CTX_check_private_key(entry.ctx) != 1) {
        record_failure("the private key does not match the certificate", error, error_capacity);
        goto done;
    }
    if (collect_names(leaf, &entry) != 0) {
        snprintf(error, error_capacity, "out of memory");
        goto done;
    }
    struct certificate_entry *grown = realloc(server->entries, (server->count + 1) * sizeof *grown);
    if (grown == NULL) {
        snprintf(error, error_capacity, "out of memory");
        goto done;
    }
    server->entries = grown;
    server->entries[server->count++] = entry;
    entry.ctx = NULL;
    entry.names = NULL;
    entry.name_count = 0;
    result = 0;
done:
    BIO_free(bio);
    X509_free(leaf);
    EVP_PKEY_free(key);
    if (entry.ctx != NULL || entry.names != NULL) free_entry(&entry);
    ERR_clear_error();
    return result;
}

size_t c_switchyard_tls_server_name_count(const c_switchyard_tls_server *server, size_t index) {
    return index < server->count ? server->entries[index].name_count : 0;
}

const char *c_switchyard_tls_server_name(const c_switchyard_tls_server *server, size_t index, size_t name) {
    return index < server->count && name < server->entries[index].name_count ? server->entries[index].names[name] : NULL;
}

void c_switchyard_tls_server_free(c_switchyard_tls_server *server) {
    if (server == NULL) return;
    for (size_t i = 0; i < server->count; i++) free_entry(&server->entries[i]);
    free(server->entries);
    pthread_mutex_destroy(&server->ticket_lock);
    OPENSSL_cleanse(server->ticket_keys, sizeof server->ticket_keys);
    free(server);
}

// MARK: Sessions

SSL *c_switchyard_tls_session_new(c_switchyard_tls_server *server, int fd) {
    ERR_clear_error();
    if (server->count == 0) return NULL;
    SSL *ssl = SSL_new(server->entries[0].ctx);
    if (ssl == NULL) {
        record_failure("SSL_new", failure, sizeof failure);
        return NULL;
    }
    if (SSL_set_fd(ssl, fd) != 1) {
        record_failure("SSL_set_fd", failure, sizeof failure);
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_accept_state(ssl);
    return ssl;
}

void c_switchyard_tls_session_free(SSL *ssl) { SSL_free(ssl); }

static int classify(SSL *ssl, int result, const char *operation) {
    int saved_errno = errno;
    switch (SSL_get_error(ssl, result)) {
    case SSL_ERROR_WANT_READ:
        return C_SWITCHYARD_TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return C_SWITCHYARD_TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        return C_SWITCHYARD_TLS_CLOSED;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_last_error() == 0) {
            if (saved_errno == 0) return C_SWITCHYARD_TLS_CLOSED;
            snprintf(failure, sizeof failure, "%s: %s", operation, strerror(saved_errno));
            errno = saved_errno;
            return C_SWITCHYARD_TLS_FAILED;
        }
        /* fall through */
    default:
        record_failure(operation, failure, sizeof failure);
        return C_SWITCHYARD_TLS_FAILED;
    }
}

int c_switchyard_tls_handshake(SSL *ssl) {
    ERR_clear_error();
    errno = 0;
    int result = SSL_do_handshake(ssl);
    return result == 1 ? 1 : classify(ssl, result, "TLS handshake");
}

int c_switchyard_tls_read(SSL *ssl, void *buffer, int capacity) {
    ERR_clear_error();
    errno = 0;
    int result = SSL_read(ssl, buffer, capacity);
    return result > 0 ? result : classify(ssl, result, "TLS read");
}

int c_switchyard_tls_write(SSL *ssl, const void *buffer, int length) {
    ERR_clear_error();
    errno = 0;
    int result = SSL_write(ssl, buffer, length);
    return result > 0 ? result : classify(ssl, result, "TLS write");
}

void c_switchyard_tls_shutdown(SSL *ssl) {
    ERR_clear_error();
    if (SSL_is_init_finished(ssl)) SSL_shutdown(ssl);
    ERR_clear_error();
}

int c_switchyard_tls_session_reused(SSL *ssl) { return SSL_session_reused(ssl); }
// MARK: Inspection

/// How many times `needle` occurs in the first `length` bytes of `text`.
static size_t count_occurrences(const char *text, size_t length, const char *needle) {
    size_t count = 0;
    size_t needle_length = strlen(needle);
    for (size_t i = 0; i + needle_length <= length; i++) {
        if (memcmp(text + i, needle, needle_length) == 0) {
            count++;
            i += needle_length - 1;
        }
    }
    return count;
}

/// "ecdsa-p256", "rsa-2048", "ed25519": the kind and size of a public key as operators name them.
static void describe_key(EVP_PKEY *key, char *out, size_t capacity) {
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
        snprintf(out, capacity, "rsa-%d", EVP_PKEY_get_bits(key));
        return;
    case EVP_PKEY_EC: {
        char group[64] = {0};
        size_t length = 0;
        if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) != 1) {
            snprintf(out, capacity, "ecdsa-%d", EVP_PKEY_get_bits(key));
        } else if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
            snprintf(out, capacity, "ecdsa-p256");
        } else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
            snprintf(out, capacity, "ecdsa-p384");
        } else if (strcmp(group, "secp521r1") == 0 || strcmp(group, "P-521") == 0) {
            snprintf(out, capacity, "ecdsa-p521");
        } else {
            snprintf(out, capacity, "ecdsa-%s", group);
        }
        return;
    }
    case EVP_PKEY_ED25519:
        snprintf(out, capacity, "ed25519");
        return;
    case EVP_PKEY_ED448:
        snprintf(out, capacity, "ed448");
        return;
    default:
        snprintf(out, capacity, "unknown");
    }
}

/// Writes `label=<name in RFC 2253 form>` and a newline (control characters escaped by OpenSSL).
static void print_name(BIO *out, const char *label, const X509_NAME *name) {
    BIO_printf(out, "%s=", label);
    X509_NAME_print_ex(out, name, 0, XN_FLAG_RFC2253);
    BIO_puts(out, "\n");
}

static int print_time(BIO *out, const char *label, const ASN1_TIME *time) {
    struct tm parts;
    if (time == NULL || ASN1_TIME_to_tm(time, &parts) != 1) return -1;
    BIO_printf(out, "%s=%lld\n", label, (long long)timegm(&parts));
    return 0;
}

/// One `san=` line per DNS name (printable ASCII only) and IP address of the certificate.
static void print_alternative_names(BIO *out, X509 *certificate) {
    GENERAL_NAMES *alternatives = X509_get_ext_d2i(certificate, NID_subject_alt_name, NULL, NULL);
    int count = alternatives ? sk_GENERAL_NAME_num(alternatives) : 0;
    for (int i = 0; i < count; i++) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value(alternatives, i);
        if (name->type == GEN_DNS) {
            const unsigned char *data = ASN1_STRING_get0_data(name->d.dNSName);
            int length = ASN1_STRING_length(name->d.dNSName);
            int printable = length > 0;
            for (int j = 0; j < length && printable; j++) printable = data[j] > 0x20 && data[j] < 0x7f;
            if (printable) BIO_printf(out, "san=%.*s\n", length, (const char *)data);
        } else if (name->type == GEN_IPADD) {
            const unsigned char *data = ASN1_STRING_get0_data(name->d.iPAddress);
            int length = ASN1_STRING_length(name->d.iPAddress);
            char text[INET6_ADDRSTRLEN];
            if ((length == 4 && inet_ntop(AF_INET, data, text, sizeof text) != NULL) ||
                (length == 16 && inet_ntop(AF_INET6, data, text, sizeof text) != NULL)) {
                BIO_printf(out, "san=%s\n", text);
            }
        }
    }
    GENERAL_NAMES_free(alternatives);
}

int c_switchyard_tls_inspect(
    const char *certificate_pem, size_t certificate_length, const char *key_pem, size_t key_length, char **report, char *error,
    size_t error_capacity) {
    ERR_clear_error();
    *report = NULL;
    int code = 0;
    STACK_OF(X509) *chain = sk_X509_new_null();
    EVP_PKEY *key = NULL;
    BIO *out = NULL;
    BIO *bio = NULL;
    if (chain == NULL || certificate_length > 1 << 20 || key_length > 1 << 20) {
        code = C_SWITCHYARD_TLS_INSPECT_BAD_CERTIFICATE;
        snprintf(error, error_capacity, "too large, or out of memory");
        goto done;
    }
    bio = BIO_new_mem_buf(certificate_pem, (int)certificate_length);
    while (bio != NULL) {
        X509 *certificate = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
        if (certificate == NULL) break;
        if (!sk_X509_push(chain, certificate)) {
            X509_free(certificate);
            break;
        }
    }
    ERR_clear_error();
    BIO_free(bio);
    bio = NULL;
    // Every BEGIN CERTIFICATE block must have been read: a damaged one in the middle ends PEM_read early.
    size_t blocks = count_occurrences(certificate_pem, certificate_length, "-----BEGIN CERTIFICATE-----");
    int read = sk_X509_num(chain);
    if (read == 0) {
        code = C_SWITCHYARD_TLS_INSPECT_BAD_CERTIFICATE;
        snprintf(error, error_capacity, "holds no readable PEM certificate");
        goto done;
    }
    if ((size_t)read != blocks) {
        code = C_SWITCHYARD_TLS_INSPECT_BAD_CERTIFICATE;
        snprintf(error, error_capacity, "certificate %d of the chain cannot be read", read + 1);
        goto done;
    }
    for (int i = 0; i + 1 < read; i++) {
        X509 *subject = sk_X509_value(chain, i);
        X509 *issuer = sk_X509_value(chain, i + 1);
        if (X509_check_issued(issuer, subject) != X509_V_OK || X509_verify(subject, X509_get0_pubkey(issuer)) != 1) {
            code = C_SWITCHYARD_TLS_INSPECT_CHAIN_ORDER;
            snprintf(
                error, error_capacity,
                "certificate %d is not issued by certificate %d: give the leaf first, then each issuer in order", i + 1, i + 2);
            goto done;
        }
    }
    X509 *leaf = sk_X509_value(chain, 0);
    bio = BIO_new_mem_buf(key_pem, (int)key_length);
    if (bio == NULL || (key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)) == NULL) {
        code = C_SWITCHYARD_TLS_INSPECT_BAD_KEY;
        snprintf(error, error_capacity, "holds no readable PEM private key (keys protected by a passphrase are not taken)");
        goto done;
    }
    if (X509_check_private_key(leaf, key) != 1) {
        code = C_SWITCHYARD_TLS_INSPECT_KEY_MISMATCH;
        snprintf(error, error_capacity, "is not the private key of the leaf certificate (the first in certificate_pem)");
        goto done;
    }
    out = BIO_new(BIO_s_mem());
    EVP_PKEY *public_key = X509_get0_pubkey(leaf);
    if (out == NULL || public_key == NULL) {
        code = C_SWITCHYARD_TLS_INSPECT_BAD_CERTIFICATE;
        snprintf(error, error_capacity, "the leaf's public key cannot be read");
        goto done;
    }
    print_name(out, "subject", X509_get_subject_name(leaf));
    print_name(out, "issuer", X509_get_issuer_name(leaf));
    if (print_time(out, "not_before", X509_get0_notBefore(leaf)) != 0 || print_time(out, "not_after", X509_get0_notAfter(leaf)) != 0) {
        code = C_SWITCHYARD_TLS_INSPECT_BAD_CERTIFICATE;
        snprintf(error, error_capacity, "the leaf's validity dates cannot be read");
        goto done;
    }
    char key_type[64];
    describe_key(public_key, key_type, sizeof key_type);
    BIO_printf(out, "key_type=%s\n", key_type);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    if (X509_digest(leaf, EVP_sha256(), digest, &digest_length) != 1) {
        code = C_SWITCHYARD_TLS_INSPECT_BAD_CERTIFICATE;
        snprintf(error, error_capacity, "the leaf cannot be hashed");
        goto done;
    }
    BIO_puts(out, "fingerprint_sha256=");
    for (unsigned int i = 0; i < digest_length; i++) BIO_printf(out, "%02x", digest[i]);
    BIO_puts(out, "\n");
    print_alternative_names(out, leaf);
    char *data = NULL;
    long length = BIO_get_mem_data(out, &data);
    *report = malloc((size_t)length + 1);
    if (*report == NULL) {
        code = C_SWITCHYARD_TLS_INSPECT_BAD_CERTIFICATE;
        snprintf(error, error_capacity, "out of memory");
        goto done;
    }
    memcpy(*report, data, (size_t)length);
    (*report)[length] = 0;
done:
    BIO_free(bio);
    BIO_free(out);
    EVP_PKEY_free(key);
    sk_X509_pop_free(chain, X509_free);
    ERR_clear_error();
    return code;
}

void c_switchyard_tls_report_free(char *report) { free(report); }
#endif
