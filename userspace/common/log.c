// SPDX-License-Identifier: MIT
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum log_level current_level = LOG_LVL_INFO;

static const char *const level_names[] = {
	[LOG_LVL_FATAL] = "fatal", [LOG_LVL_ERROR] = "error", [LOG_LVL_WARN] = "warning",
	[LOG_LVL_INFO] = "info",   [LOG_LVL_DEBUG] = "debug", [LOG_LVL_TRACE] = "trace",
};

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

int log_level_parse(const char *name)
{
	if (!strcasecmp(name, "warn"))
		return LOG_LVL_WARN;
	for (int i = 0; i <= LOG_LVL_TRACE; i++)
		if (!strcasecmp(name, level_names[i]))
			return i;
	return -EINVAL;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char msg[2048], stamp[40];
	struct timespec ts;
	struct tm tm;
	size_t n;

	if (level > current_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S%z", &tm);
	fprintf(stderr, "time=\"%s\" level=%s msg=\"%s\"\n", stamp, level_names[level], msg);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
