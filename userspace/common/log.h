/* SPDX-License-Identifier: MIT */
/*
 * Logging for all programs: one line per message on stderr, in the logfmt shape
 * CrowdSec users know (time=... level=... msg="..."). Thread-safe: each message is
 * a single stdio call. Lower layers return error codes; log where context exists.
 */
#ifndef CS_LOG_H
#define CS_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_FATAL = 0,
	LOG_LVL_ERROR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
	LOG_LVL_TRACE,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "error", "warning"/"warn", "info", "debug", "trace"; returns -EINVAL otherwise. */
int log_level_parse(const char *name);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_trace(...) log_msg(LOG_LVL_TRACE, __VA_ARGS__)

#endif /* CS_LOG_H */
