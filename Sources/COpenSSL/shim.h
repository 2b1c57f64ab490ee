// The parts of OpenSSL's libcrypto heartbeatd uses: one-shot HMAC, constant-time compare, random bytes.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
