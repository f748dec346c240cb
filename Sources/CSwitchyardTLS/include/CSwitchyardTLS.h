#ifndef C_SWITCHYARD_TLS_H
#define C_SWITCHYARD_TLS_H

// The data plane's TLS server over OpenSSL 3: what Swift cannot import (macros such as
// SSL_CTX_set_min_proto_version or SSL_CTX_set_tlsext_servername_callback, C callbacks) and the
// classification of OpenSSL's results, so that Swift sees a few functions and opaque pointers.
#ifdef __linux__
#include <stddef.h>
#include <openssl/ssl.h>

// Results of handshake, read and write that are not byte counts (macros: Swift imports them as Int32).
/// Call again when the socket has input.
#define C_SWITCHYARD_TLS_WANT_READ (-1)
/// Call again when the socket takes output.
#define C_SWITCHYARD_TLS_WANT_WRITE (-2)
/// The peer closed: close_notify, or the end of the TCP stream.
#define C_SWITCHYARD_TLS_CLOSED (-3)
/// A fatal error: `c_switchyard_tls_failure()` says which (on the calling thread).
#define C_SWITCHYARD_TLS_FAILED (-4)

/// Certificates of one listener: one SSL_CTX each, the first is the default. Immutable once built,
/// shared by every event loop (OpenSSL's contexts are thread-safe).
typedef struct c_switchyard_tls_server c_switchyard_tls_server;

/// `resumption` 0: no session cache and no tickets (every handshake a full one); else both.
c_switchyard_tls_server *c_switchyard_tls_server_new(int resumption);
/// Adds a certificate (leaf, then its chain) and its private key; 0, or -1 with `error` filled.
int c_switchyard_tls_server_add(
    c_switchyard_tls_server *server, const char *certificate_pem, size_t certificate_length, const char *key_pem,
    size_t key_length, char *error, size_t error_capacity);
/// How many DNS names the certificate at `index` is selected for (SAN DNS names, else the CN).
size_t c_switchyard_tls_server_name_count(const c_switchyard_tls_server *server, size_t index);
const char *c_switchyard_tls_server_name(const c_switchyard_tls_server *server, size_t index, size_t name);
void c_switchyard_tls_server_free(c_switchyard_tls_server *server);
/// Session tickets are encrypted under a key that is replaced every hour, and the key before it is
/// still accepted for an hour. This replaces it now (tickets under the one before are then refused).
void c_switchyard_tls_server_rotate_ticket_keys(c_switchyard_tls_server *server);

/// A server session on a connected, non-blocking socket (NULL on failure).
SSL *c_switchyard_tls_session_new(c_switchyard_tls_server *server, int fd);
void c_switchyard_tls_session_free(SSL *ssl);
/// 1 once the handshake is complete, else a C_SWITCHYARD_TLS_ result.
int c_switchyard_tls_handshake(SSL *ssl);
/// Bytes read (> 0), else a C_SWITCHYARD_TLS_ result.
int c_switchyard_tls_read(SSL *ssl, void *buffer, int capacity);
/// Bytes written (> 0, possibly fewer than `length`), else a C_SWITCHYARD_TLS_ result. A write that
/// wanted input or output must be repeated with the same bytes first (more may follow them).
int c_switchyard_tls_write(SSL *ssl, const void *buffer, int length);
/// Sends close_notify if the handshake is complete (best effort: never blocks, never fails).
void c_switchyard_tls_shutdown(SSL *ssl);
/// Whether the session was resumed (cache or ticket) rather than fully negotiated.
int c_switchyard_tls_session_reused(SSL *ssl);
/// The reason of the calling thread's last C_SWITCHYARD_TLS_FAILED.
const char *c_switchyard_tls_failure(void);

// Results of c_switchyard_tls_inspect other than 0 (macros: Swift imports them as Int32).
/// certificate_pem holds no certificate, or a block that is not one.
#define C_SWITCHYARD_TLS_INSPECT_BAD_CERTIFICATE 1
/// private_key_pem holds no private key (or one protected by a passphrase).
#define C_SWITCHYARD_TLS_INSPECT_BAD_KEY 2
/// The private key is not the leaf's.
#define C_SWITCHYARD_TLS_INSPECT_KEY_MISMATCH 3
/// A certificate of the chain is not issued (and signed) by the one after it.
#define C_SWITCHYARD_TLS_INSPECT_CHAIN_ORDER 4

/// Reads a certificate chain (leaf first, each certificate issued by the next) and the leaf's private
/// key, and describes the leaf in `*report` as "field=value" lines (subject, issuer, not_before and
/// not_after in Unix seconds, key_type, fingerprint_sha256, one san line per DNS name or IP address),
/// a NUL-terminated text to release with c_switchyard_tls_report_free. Returns 0, or a
/// C_SWITCHYARD_TLS_INSPECT_ code with `error` filled (and no report).
int c_switchyard_tls_inspect(
    const char *certificate_pem, size_t certificate_length, const char *key_pem, size_t key_length, char **report, char *error,
    size_t error_capacity);
void c_switchyard_tls_report_free(char *report);
#endif

#endif
