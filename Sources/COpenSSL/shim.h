#ifndef C_OPENSSL_SHIM_H
#define C_OPENSSL_SHIM_H

// OpenSSL 3 from the system (Debian: libssl-dev).
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#endif
