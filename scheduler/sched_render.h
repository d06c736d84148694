/*
 * sched_render: campaign templates.
 *
 *   {field}           the contact's field: name, phone, timezone, any imported
 *                     column kept as an attribute, or a var given at enrollment
 *                     (vars win over attributes)
 *   {field|fallback}  the fallback when the field is missing or empty
 *   {{ and }}         literal braces
 *
 * A field that is missing with no fallback is an error, found when the
 * contact is enrolled (sched_render_check) rather than as a broken message
 * weeks later.
 */
#ifndef HOMING_SCHED_RENDER_H
#define HOMING_SCHED_RENDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Checks the template's syntax alone (unclosed '{', empty field name, a '}'
 * with no '{'). err names the column of the problem.
 */
bool sched_template_ok(const char *tmpl, char *err, size_t err_size);

/*
 * Renders `tmpl` with `fields`, a JSON object whose values are strings or
 * numbers (numbers are printed as written). Returns a malloc'd string, or
 * NULL with err naming the field that is missing ("the template needs {code}
 * and the contact has no 'code'; add it or write {code|fallback}") or the
 * syntax error.
 */
char *sched_render(const char *tmpl, const json_t *fields, char *err, size_t err_size);

#endif
