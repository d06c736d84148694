/*
 * sched_event: the scheduler's rows in the `events` audit trail. Each module
 * prepares SCHED_EVENT_SQL once with its other statements and writes rows
 * through sched_event(), inside its own transaction.
 */
#ifndef HOMING_SCHED_EVENT_H
#define HOMING_SCHED_EVENT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#define SCHED_EVENT_SQL \
    "INSERT INTO events (at, actor, entity, entity_id, action, detail) " \
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"

/* One row through `insert` (prepared from SCHED_EVENT_SQL); the strings are copied. */
bool sched_event(sqlite3_stmt *insert, int64_t now, const char *actor, const char *entity,
                 int64_t id, const char *action, const char *detail);

#endif
