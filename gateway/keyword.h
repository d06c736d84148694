/*
 * keyword: is a received text STOP, START or HELP? Matching folds case (ASCII
 * and Latin-1) and full-width forms, trims white space and punctuation, and
 * takes the keyword as the whole message or its first word: "Stop", " STOP!",
 * "stop please" opt out; "don't stop" and "Unstoppable deals" do not.
 *
 * The built-in words always apply (a deployment cannot switch STOP off);
 * `keywords.optout`, `.optin` and `.help` in the config add local ones
 * (ARRET, BAJA, STOPP ...).
 */
#ifndef HOMING_KEYWORD_H
#define HOMING_KEYWORD_H

#include <stddef.h>

struct conf;

enum keyword_kind { KEYWORD_NONE, KEYWORD_OPTOUT, KEYWORD_OPTIN, KEYWORD_HELP };

/* Classifies `text`; the matched word (folded, e.g. "STOP") goes into word. */
enum keyword_kind keyword_match(const struct conf *conf, const char *text, char *word,
                                size_t word_size);
const char *keyword_kind_name(enum keyword_kind kind);

#endif
