/*
 * curl_lazy: see curl_lazy.h. dlopen() of the soname Debian's libcurl4
 * package installs; each function is looked up by name into one table.
 */
#include "gateway/curl_lazy.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define CURL_SONAME "libcurl.so.4"

static struct curl_api api;
static bool tried, loaded;
static char why[256];

/* Fills one slot of the table; false when the symbol is missing. */
static bool symbol(void *lib, void *slot, size_t slot_size, const char *name)
{
    void *fn = dlsym(lib, name);
    if (!fn) {
        snprintf(why, sizeof why, "%s has no %s (libcurl too old?)", CURL_SONAME, name);
        return false;
    }
    memcpy(slot, &fn, slot_size); /* object to function pointer, as POSIX dlsym allows */
    return true;
}

#define LOAD(field, name) symbol(lib, &api.field, sizeof api.field, name)

static bool load(void)
{
    void *lib = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(why, sizeof why, "webhooks need libcurl, which cannot be loaded: %s "
                 "(apt-get install libcurl4)", dlerror());
        return false;
    }
    return LOAD(global_init, "curl_global_init") && LOAD(global_cleanup, "curl_global_cleanup") &&
           LOAD(easy_init, "curl_easy_init") && LOAD(easy_setopt, "curl_easy_setopt") &&
           LOAD(easy_getinfo, "curl_easy_getinfo") && LOAD(easy_cleanup, "curl_easy_cleanup") &&
           LOAD(easy_strerror, "curl_easy_strerror") && LOAD(multi_init, "curl_multi_init") &&
           LOAD(multi_setopt, "curl_multi_setopt") &&
           LOAD(multi_add_handle, "curl_multi_add_handle") &&
           LOAD(multi_remove_handle, "curl_multi_remove_handle") &&
           LOAD(multi_assign, "curl_multi_assign") &&
           LOAD(multi_socket_action, "curl_multi_socket_action") &&
           LOAD(multi_info_read, "curl_multi_info_read") &&
           LOAD(multi_cleanup, "curl_multi_cleanup") &&
           LOAD(slist_append, "curl_slist_append") && LOAD(slist_free_all, "curl_slist_free_all");
}

const struct curl_api *curl_lazy(char *err, size_t err_size)
{
    if (!tried) {
        tried = true;
        loaded = load(); /* the library stays open: its functions are in use until exit */
    }
    if (!loaded)
        snprintf(err, err_size, "%s", why);
    return loaded ? &api : NULL;
}
