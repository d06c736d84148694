/*
 * syncer: a thread that makes the database's WAL file durable (fdatasync)
 * when asked, so that no event loop waits for the disk.
 *
 * Whoever commits without syncing (store.h: store_enqueue_batch_unsynced,
 * store_defer_report_syncs) calls syncer_request() after the commit, keeps
 * the number it returns, and treats the commit as durable once
 * syncer_synced() has reached that number. One fdatasync covers every
 * commit requested before it started, so under load the syncs of both of
 * the service's threads share one fsync; while a sync runs, the HTTP
 * thread goes on parsing and committing the next batch (a pipelined group
 * commit). fdatasync works on the file, not on the descriptor, so our own
 * descriptor of the WAL syncs what sqlite's connections wrote through theirs.
 *
 * A second thread checkpoints the WAL into the database file (PASSIVE, on a
 * connection of its own) when a connection's commit finds it grown
 * (syncer_checkpoint_wanted, given to store_set_checkpointer) and once a
 * second whatever happens, so the WAL stays small when only one side writes.
 */
#ifndef HOMING_SYNCER_H
#define HOMING_SYNCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct syncer;

/*
 * Starts the thread for the WAL of the database at `db_path` (which must be
 * open in WAL mode already); `synced(arg)` is called on the syncer's thread
 * after each sync. NULL with the reason in err.
 */
struct syncer *syncer_start(const char *db_path, void (*synced)(void *arg), void *arg,
                            char *err, size_t err_size);
/* Any thread, after a commit: the generation that covers it. */
uint64_t syncer_request(struct syncer *s);
/*
 * Any thread, after a commit nobody waits for (the drivers' reports): it is
 * synced by the next sync anyone asks for, or within SYNCER_LAZY_MS. Under
 * load the group commits' syncs cover it, and it costs no fsync of its own.
 */
void syncer_request_lazy(struct syncer *s);
/*
 * Any thread: the newest generation on disk; *failed (may be NULL) says
 * whether the last sync failed (then nothing after the last good one is
 * known to be on disk).
 */
uint64_t syncer_synced(struct syncer *s, bool *failed);
/* Any thread: waits until generation `gen` is on disk (or its sync failed); as syncer_synced. */
uint64_t syncer_wait(struct syncer *s, uint64_t gen, bool *failed);
/* Any thread (a store checkpointer): the WAL has grown; checkpoint it soon. */
void syncer_checkpoint_wanted(void *s);
/* Waits for everything requested so far to be synced, then ends the threads. Accepts NULL. */
void syncer_stop(struct syncer *s);

#endif
