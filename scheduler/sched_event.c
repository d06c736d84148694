/* sched_event: see sched_event.h. */
#include "scheduler/sched_event.h"

#include <stdio.h>

bool sched_event(sqlite3_stmt *insert, int64_t now, const char *actor, const char *entity,
                 int64_t id, const char *action, const char *detail)
{
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%lld", (long long)id);
    sqlite3_bind_int64(insert, 1, now);
    sqlite3_bind_text(insert, 2, actor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 3, entity, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 4, id_text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 5, action, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 6, detail, -1, SQLITE_TRANSIENT);
    bool ok = sqlite3_step(insert) == SQLITE_DONE;
    sqlite3_reset(insert);
    return ok;
}
