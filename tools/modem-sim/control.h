/*
 * control: the simulator's control channel, a Unix stream socket that takes
 * one command per line and answers each with one line, "ok ..." or
 * "error ...". Commands that name no modem go to the first one.
 */
#ifndef MODEMSIM_CONTROL_H
#define MODEMSIM_CONTROL_H

#include <stddef.h>

struct event_base;
struct modem;
struct control;

/* Listens at path (an old socket file there is replaced). modems is not copied. */
struct control *control_new(struct event_base *base, const char *path,
                            struct modem **modems, int nmodems, char *err, size_t errlen);
/* Stops listening, closes clients, removes the socket file. Accepts NULL. */
void control_free(struct control *c);

/* Splits a line into words: spaces separate, "..." groups (with \" \\ \n \r \t). */
int control_split(char *line, char **argv, int max);

#endif
