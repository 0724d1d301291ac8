/*
 * json_out.h - appending JSON text to a trail_buf: strings with RFC 8259
 * escaping, and a printf for the rest. For traild's HTTP answers.
 *
 * Not here: events as JSON (trail_event_to_json in libtrail).
 */
#ifndef TRAILD_JSON_OUT_H
#define TRAILD_JSON_OUT_H

#include "trail.h"

/* json_str - append s[0..len) as a JSON string, quotes included; len (size_t)-1: strlen. */
int json_str(struct trail_buf *out, const char *s, size_t len);

/* json_printf - append formatted text (no escaping), however long: JSON answers, the
 * metrics text. 0 or -ENOMEM. */
int json_printf(struct trail_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* TRAILD_JSON_OUT_H */
