/*
 * error.c - trail_strerror(): texts for trail's own error codes and -errno.
 */
#include "trail.h"

#include <string.h>

static const char *const texts[] = {
    [TRAIL_E_UNKNOWN_EVENT - TRAIL_E_BASE] = "unknown event id",
    [TRAIL_E_MISSING_ATTR - TRAIL_E_BASE] = "missing required attribute",
    [TRAIL_E_BAD_TYPE - TRAIL_E_BASE] = "value does not match the attribute's type",
    [TRAIL_E_BAD_ENUM - TRAIL_E_BASE] = "value is not one of the attribute's enum values",
    [TRAIL_E_TOO_MANY_ATTRS - TRAIL_E_BASE] = "too many attributes",
    [TRAIL_E_KEY_TOO_LONG - TRAIL_E_BASE] = "attribute key too long",
    [TRAIL_E_VALUE_TOO_LONG - TRAIL_E_BASE] = "value too long",
    [TRAIL_E_UNDECLARED_ATTR - TRAIL_E_BASE] = "attribute not declared for this event",
    [TRAIL_E_BAD_KEY - TRAIL_E_BASE] = "malformed attribute key",
    [TRAIL_E_BAD_ID - TRAIL_E_BASE] = "malformed event id",
    [TRAIL_E_DUPLICATE - TRAIL_E_BASE] = "already declared",
    [TRAIL_E_BAD_SEVERITY - TRAIL_E_BASE] = "severity not on the scale",
    [TRAIL_E_PARSE - TRAIL_E_BASE] = "malformed input",
    [TRAIL_E_UTF8 - TRAIL_E_BASE] = "invalid UTF-8",
    [TRAIL_E_TOO_LARGE - TRAIL_E_BASE] = "record too large",
    [TRAIL_E_CORRUPT - TRAIL_E_BASE] = "stored data is corrupt",
    [TRAIL_E_VERSION - TRAIL_E_BASE] = "unknown file format or version",
    [TRAIL_E_INTEGRITY - TRAIL_E_BASE] = "integrity check failed",
    [TRAIL_E_SIGNATURE - TRAIL_E_BASE] = "signature does not verify",
    [TRAIL_E_NOT_FOUND - TRAIL_E_BASE] = "not found",
    [TRAIL_E_CLOSED - TRAIL_E_BASE] = "closed",
    [TRAIL_E_READONLY - TRAIL_E_BASE] = "store is read-only",
    [TRAIL_E_LOCKED - TRAIL_E_BASE] = "store is locked by another writer",
    [TRAIL_E_FAILED - TRAIL_E_BASE] = "store failed an earlier write and must be reopened",
    [TRAIL_E_RESERVED - TRAIL_E_BASE] = "event id reserved for trail's own records",
    [TRAIL_E_TIME_SKEW - TRAIL_E_BASE] = "event time too far from the time of arrival",
    [TRAIL_E_SHORTER - TRAIL_E_BASE] = "store holds fewer records than its own files claim",
    [TRAIL_E_TAMPERED - TRAIL_E_BASE] =
        "a file of the store was removed or replaced while open; nothing more is acknowledged",
};

const char *trail_strerror(int code)
{
    if (code == 0)
        return "success";
    if (code >= TRAIL_E_BASE && code < TRAIL_E_LAST) {
        const char *t = texts[code - TRAIL_E_BASE];
        return t ? t : "unknown trail error";
    }
    if (code < 0 && code > -4096)
        return strerror(-code);
    return "unknown error";
}
