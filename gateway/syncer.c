/* syncer: see syncer.h. */
#include "gateway/syncer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/log.h"

struct syncer {
    int fd;                      /* the WAL file */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;         /* a request, or stop */
    uint64_t requested, synced;
    bool failed, stopping;
    void (*synced_fn)(void *arg);
    void *arg;
};

static void *syncer_main(void *arg)
{
    struct syncer *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->requested == s->synced && !s->stopping)
            pthread_cond_wait(&s->wake, &s->mu);
        if (s->requested == s->synced)
            break; /* stopping, and nothing left to sync */
        uint64_t gen = s->requested;
        pthread_mutex_unlock(&s->mu);
        bool ok = fdatasync(s->fd) == 0;
        int saved = errno;
        pthread_mutex_lock(&s->mu);
        s->synced = gen;
        s->failed = !ok;
        pthread_mutex_unlock(&s->mu);
        if (!ok)
            log_error("store: the WAL could not be synced to disk: %s", strerror(saved));
        s->synced_fn(s->arg);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

struct syncer *syncer_start(const char *db_path, void (*synced)(void *arg), void *arg,
                            char *err, size_t err_size)
{
    char wal[4096];
    snprintf(wal, sizeof wal, "%s-wal", db_path);
    int fd = open(wal, O_RDWR | O_CLOEXEC); /* never written: only synced */
    if (fd < 0) {
        snprintf(err, err_size, "cannot open %s to sync it: %s", wal, strerror(errno));
        return NULL;
    }
    struct syncer *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    *s = (struct syncer){ .fd = fd, .synced_fn = synced, .arg = arg };
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->wake, NULL);
    int rc = pthread_create(&s->thread, NULL, syncer_main, s);
    if (rc != 0) {
        snprintf(err, err_size, "cannot start the sync thread: %s", strerror(rc));
        close(fd);
        free(s);
        return NULL;
    }
    return s;
}

uint64_t syncer_request(struct syncer *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t gen = ++s->requested;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
    return gen;
}

uint64_t syncer_synced(struct syncer *s, bool *failed)
{
    pthread_mutex_lock(&s->mu);
    uint64_t gen = s->synced;
    if (failed)
        *failed = s->failed;
    pthread_mutex_unlock(&s->mu);
    return gen;
}

void syncer_stop(struct syncer *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    close(s->fd);
    free(s);
}
