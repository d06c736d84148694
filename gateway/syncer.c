/* syncer: see syncer.h. */
#include "gateway/syncer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/log.h"
#include "gateway/store.h"

#define CHECKPOINT_EVERY_S 1
#define SYNCER_LAZY_MS 10

struct syncer {
    int fd;                      /* the WAL file */
    pthread_t thread, checkpointer;
    pthread_mutex_t mu;
    pthread_cond_t wake;         /* a request, or stop */
    pthread_cond_t ckpt_wake;    /* a checkpoint wanted, or stop */
    pthread_cond_t done;         /* a sync has ended (syncer_wait) */
    struct store *ckpt_store;    /* the checkpointer's own connection */
    uint64_t requested, synced;
    bool lazy;                   /* a commit waits for the next sync, due by lazy_until */
    struct timespec lazy_until;
    bool failed, stopping, ckpt_wanted;
    void (*synced_fn)(void *arg);
    void *arg;
};

static void *syncer_main(void *arg)
{
    struct syncer *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->requested == s->synced && !s->stopping) {
            if (!s->lazy) {
                pthread_cond_wait(&s->wake, &s->mu);
            } else if (pthread_cond_timedwait(&s->wake, &s->mu, &s->lazy_until) == ETIMEDOUT) {
                s->requested++; /* the lazy commit's time is up */
                break;
            }
        }
        if (s->requested == s->synced && !s->lazy)
            break; /* stopping, and nothing left to sync */
        if (s->requested == s->synced)
            s->requested++; /* stopping: the lazy commit too */
        s->lazy = false;
        uint64_t gen = s->requested;
        pthread_mutex_unlock(&s->mu);
        bool ok = fdatasync(s->fd) == 0;
        int saved = errno;
        pthread_mutex_lock(&s->mu);
        s->synced = gen;
        s->failed = !ok;
        pthread_cond_broadcast(&s->done);
        pthread_mutex_unlock(&s->mu);
        if (!ok)
            log_error("store: the WAL could not be synced to disk: %s", strerror(saved));
        s->synced_fn(s->arg);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Ends both threads' loops; joins the sync thread (the caller joins the other if it runs). */
static void syncer_stop_sync_thread(struct syncer *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_signal(&s->wake);
    pthread_cond_signal(&s->ckpt_wake);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
}

static void syncer_free(struct syncer *s)
{
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->ckpt_wake);
    pthread_cond_destroy(&s->done);
    pthread_mutex_destroy(&s->mu);
    store_close(s->ckpt_store);
    close(s->fd);
    free(s);
}

static void *checkpointer_main(void *arg)
{
    struct syncer *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        if (!s->ckpt_wanted) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_sec += CHECKPOINT_EVERY_S;
            pthread_cond_timedwait(&s->ckpt_wake, &s->mu, &until);
            if (s->stopping)
                break;
        }
        s->ckpt_wanted = false;
        pthread_mutex_unlock(&s->mu);
        store_checkpoint(s->ckpt_store);
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
    char why[256];
    s->ckpt_store = store_open_for_checkpoints(db_path, why, sizeof why);
    if (!s->ckpt_store) {
        snprintf(err, err_size, "the checkpointer's connection: %s", why);
        close(fd);
        free(s);
        return NULL;
    }
    store_set_cache_kib(s->ckpt_store, 64); /* a checkpoint copies pages without caching them */
    pthread_mutex_init(&s->mu, NULL);
    /* Timed waits on the monotonic clock: a step of the wall clock does not stretch them. */
    pthread_condattr_t monotonic;
    pthread_condattr_init(&monotonic);
    pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &monotonic);
    pthread_cond_init(&s->ckpt_wake, &monotonic);
    pthread_condattr_destroy(&monotonic);
    pthread_cond_init(&s->done, NULL);
    int rc = pthread_create(&s->thread, NULL, syncer_main, s);
    if (rc == 0 && (rc = pthread_create(&s->checkpointer, NULL, checkpointer_main, s)) != 0) {
        syncer_stop_sync_thread(s);
    }
    if (rc != 0) {
        snprintf(err, err_size, "cannot start the sync threads: %s", strerror(rc));
        syncer_free(s);
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

void syncer_request_lazy(struct syncer *s)
{
    pthread_mutex_lock(&s->mu);
    if (!s->lazy) {
        s->lazy = true;
        clock_gettime(CLOCK_MONOTONIC, &s->lazy_until);
        s->lazy_until.tv_nsec += SYNCER_LAZY_MS * 1000000L;
        if (s->lazy_until.tv_nsec >= 1000000000L) {
            s->lazy_until.tv_sec++;
            s->lazy_until.tv_nsec -= 1000000000L;
        }
        pthread_cond_signal(&s->wake); /* to start its timed wait */
    }
    pthread_mutex_unlock(&s->mu);
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

uint64_t syncer_wait(struct syncer *s, uint64_t gen, bool *failed)
{
    pthread_mutex_lock(&s->mu);
    while (s->synced < gen)
        pthread_cond_wait(&s->done, &s->mu);
    uint64_t synced = s->synced;
    if (failed)
        *failed = s->failed;
    pthread_mutex_unlock(&s->mu);
    return synced;
}

void syncer_checkpoint_wanted(void *arg)
{
    struct syncer *s = arg;
    pthread_mutex_lock(&s->mu);
    s->ckpt_wanted = true;
    pthread_cond_signal(&s->ckpt_wake);
    pthread_mutex_unlock(&s->mu);
}

void syncer_stop(struct syncer *s)
{
    if (!s)
        return;
    syncer_stop_sync_thread(s);
    pthread_join(s->checkpointer, NULL);
    syncer_free(s);
}
