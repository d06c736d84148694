/*
 * curl_lazy: libcurl, loaded the first time a webhook or a Kannel dlr-url
 * call is made rather than when homing starts.
 *
 * Linked normally, libcurl brings its whole dependency tree into every
 * homing process (OpenSSL, GnuTLS, Kerberos, LDAP ...): about 7 MiB of
 * resident memory that a gateway without webhooks never uses, on a Raspberry
 * Pi that may have little to spare. The headers are still libcurl's own, so
 * every call is type-checked as usual; only the symbols are looked up late.
 */
#ifndef HOMING_CURL_LAZY_H
#define HOMING_CURL_LAZY_H

#include <curl/curl.h>
#include <stddef.h>

/* The libcurl functions homing uses. */
struct curl_api {
    CURLcode (*global_init)(long flags);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *easy, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *easy, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *easy);
    const char *(*easy_strerror)(CURLcode code);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_setopt)(CURLM *multi, CURLMoption option, ...);
    CURLMcode (*multi_add_handle)(CURLM *multi, CURL *easy);
    CURLMcode (*multi_remove_handle)(CURLM *multi, CURL *easy);
    CURLMcode (*multi_assign)(CURLM *multi, curl_socket_t fd, void *p);
    CURLMcode (*multi_socket_action)(CURLM *multi, curl_socket_t fd, int mask, int *running);
    CURLMsg *(*multi_info_read)(CURLM *multi, int *left);
    CURLMcode (*multi_cleanup)(CURLM *multi);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *text);
    void (*slist_free_all)(struct curl_slist *list);
};

/*
 * libcurl's functions, loaded on the first call and kept for the life of the
 * process; NULL with the reason in err (libcurl missing, or too old to have
 * one of the functions) on this and every later call.
 */
const struct curl_api *curl_lazy(char *err, size_t err_size);

#endif
