// SPDX-License-Identifier: MIT
/*
 * The email plugin: upstream's keys (smtp_host, smtp_port, smtp_username,
 * smtp_password, sender_email, sender_name, receiver_emails, email_subject,
 * encryption_type ssltls|starttls|none, auth_type none|login|plain|crammd5,
 * helo_host, connect_timeout) and defaults, delivered through libcurl's SMTP.
 * The rendered text is the HTML body, base64-encoded so that no line length or
 * leading dot of the template's output can break the SMTP conversation.
 * Ours: skip_tls_verification (as the http plugin's), for servers with their own CA.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/sha2.h"
#include "common/strbuf.h"
#include "common/strv.h"
#include "common/yamljson.h"
#include "notify/notify_int.h"

#define BODY_MAX (16u << 20)

static bool one_line(const char *s)
{
	return !s || !strpbrk(s, "\r\n");
}

static bool address_ok(const char *s)
{
	return s && *s && !strpbrk(s, "\r\n<>, \t") && strchr(s, '@');
}

int notify_email_load(json_t *doc, const char *path, struct notification *nt, char *err,
		      size_t errlen)
{
	json_t *rcpt = json_object_get(doc, "receiver_emails"), *v;
	const char *enc, *bad = NULL;
	size_t i;
	int ret;

	if ((ret = notify_str(doc, "smtp_host", NULL, path, &nt->smtp_host, err, errlen)) ||
	    (ret = notify_str(doc, "smtp_username", NULL, path, &nt->smtp_username, err, errlen)) ||
	    (ret = notify_str(doc, "smtp_password", NULL, path, &nt->smtp_password, err, errlen)) ||
	    (ret = notify_str(doc, "sender_email", "crowdsec@crowdsec.local", path,
			      &nt->sender_email, err, errlen)) ||
	    (ret = notify_str(doc, "sender_name", "Crowdsec", path, &nt->sender_name, err, errlen)) ||
	    (ret = notify_str(doc, "email_subject", "Crowdsec notification", path, &nt->subject, err,
			      errlen)) ||
	    (ret = notify_str(doc, "helo_host", "localhost", path, &nt->helo_host, err, errlen)) ||
	    (ret = notify_str(doc, "auth_type", "login", path, &nt->auth_type, err, errlen)) ||
	    (ret = notify_duration(doc, "connect_timeout", path, &nt->connect_timeout_ns, err,
				   errlen)))
		return ret;
	enc = yamljson_get_str(doc, "encryption_type", "ssltls");
	nt->smtp_port = yamljson_get_long(doc, "smtp_port", 25);
	nt->skip_tls_verify = yamljson_get_bool(doc, "skip_tls_verification", false);
	if (!nt->smtp_host || !*nt->smtp_host || strpbrk(nt->smtp_host, "/@ \r\n"))
		bad = "smtp_host: missing or not a host name";
	else if (nt->smtp_port < 1 || nt->smtp_port > 65535)
		bad = "smtp_port: not a port";
	else if (!address_ok(nt->sender_email))
		bad = "sender_email: not one address";
	else if (!one_line(nt->sender_name) || strpbrk(nt->sender_name, "<>\""))
		bad = "sender_name: not a one-line name";
	else if (!one_line(nt->subject))
		bad = "email_subject: not one line";
	else if (strpbrk(nt->helo_host, "/?# \r\n"))
		bad = "helo_host: not a host name";
	else if (strcmp(enc, "ssltls") && strcmp(enc, "starttls") && strcmp(enc, "none"))
		bad = "encryption_type: not one of ssltls, starttls, none";
	else if (strcmp(nt->auth_type, "none") && strcmp(nt->auth_type, "login") &&
		 strcmp(nt->auth_type, "plain") && strcmp(nt->auth_type, "crammd5"))
		bad = "auth_type: not one of none, login, plain, crammd5";
	else if (!json_is_array(rcpt) || !json_array_size(rcpt) || json_array_size(rcpt) > 100)
		bad = "receiver_emails: needs a list of 1 to 100 addresses";
	json_array_foreach(rcpt, i, v) {
		if (bad)
			break;
		if (!address_ok(json_string_value(v)))
			bad = "receiver_emails: an entry is not one address";
		else if (strv_push(&nt->receivers, &nt->nreceivers, json_string_value(v)))
			return -ENOMEM;
	}
	if (bad) {
		snprintf(err, errlen, "%s: email notification '%s': %s", path, nt->name, bad);
		return -EINVAL;
	}
	nt->tls = !strcmp(enc, "ssltls") ? NT_TLS_SSL : !strcmp(enc, "starttls") ? NT_TLS_STARTTLS
										 : NT_TLS_NONE;
	return 0;
}

/* base64 of s[0..len), lines of 76 joined by `eol` ("" for one line) */
static void put_base64(struct sbuf *sb, const char *s, size_t len, const char *eol)
{
	char out[80];

	for (size_t off = 0; off < len; off += 57) {
		size_t n = len - off < 57 ? len - off : 57;

		b64_encode((const uint8_t *)s + off, n, out);
		sb_puts(sb, out);
		sb_puts(sb, eol);
	}
}

/* A header value: as is when ASCII, else RFC 2047 encoded-words. */
static void put_header_text(struct sbuf *sb, const char *s)
{
	bool ascii = true;

	for (const char *p = s; *p; p++)
		ascii &= (unsigned char)*p < 0x80;
	if (ascii) {
		sb_puts(sb, s);
		return;
	}
	for (size_t off = 0, len = strlen(s); off < len; off += 45) {
		sb_puts(sb, off ? "\r\n =?UTF-8?B?" : "=?UTF-8?B?");
		put_base64(sb, s + off, len - off < 45 ? len - off : 45, "");
		sb_puts(sb, "?=");
	}
}

static char *message(const struct notification *nt, const char *text, size_t len, size_t *outlen)
{
	struct sbuf sb = { .max = BODY_MAX * 2 };
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	sb_printf(&sb, "Date: %s\r\nFrom: \"", date);
	put_header_text(&sb, nt->sender_name);
	sb_printf(&sb, "\" <%s>\r\nTo: ", nt->sender_email);
	for (size_t i = 0; i < nt->nreceivers; i++)
		sb_printf(&sb, "%s<%s>", i ? ", " : "", nt->receivers[i]);
	sb_puts(&sb, "\r\nSubject: ");
	put_header_text(&sb, nt->subject);
	sb_puts(&sb, "\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=UTF-8\r\n"
		     "Content-Transfer-Encoding: base64\r\n\r\n");
	put_base64(&sb, text, len, "\r\n");
	return sb_take(&sb, outlen);
}

struct reader {
	const char *p;
	size_t left;
};

static size_t read_msg(char *buf, size_t sz, size_t n, void *arg)
{
	struct reader *r = arg;
	size_t k = sz * n < r->left ? sz * n : r->left;

	memcpy(buf, r->p, k);
	r->p += k;
	r->left -= k;
	return k;
}

int notify_email_send(struct notification *nt, const char *text, size_t len)
{
	static const struct {
		const char *name, *opt;
	} auths[] = { { "login", "AUTH=LOGIN" }, { "plain", "AUTH=PLAIN" }, { "crammd5", "AUTH=CRAM-MD5" } };
	struct curl_slist *rcpt = NULL;
	char url[600], from[300];
	struct reader r;
	long ms = (long)(nt->timeout_ns / 1000000), cms = (long)(nt->connect_timeout_ns / 1000000);
	size_t mlen = 0;
	char *msg;
	CURL *h;
	CURLcode rc;

	if (len > BODY_MAX) {
		log_warn("notification %s: a %zu-byte message is past the %u-byte bound", nt->name, len,
			 BODY_MAX);
		return -E2BIG;
	}
	if (!(msg = message(nt, text, len, &mlen)))
		return -ENOMEM;
	if (!(h = curl_easy_init())) {
		free(msg);
		return -ENOMEM;
	}
	r = (struct reader){ msg, mlen };
	/* the URL's path is the name libcurl sends in EHLO */
	snprintf(url, sizeof(url), strchr(nt->smtp_host, ':') ? "%s://[%s]:%ld/%s" : "%s://%s:%ld/%s",
		 nt->tls == NT_TLS_SSL ? "smtps" : "smtp", nt->smtp_host, nt->smtp_port, nt->helo_host);
	snprintf(from, sizeof(from), "<%s>", nt->sender_email);
	for (size_t i = 0; i < nt->nreceivers; i++) {
		char to[300];

		snprintf(to, sizeof(to), "<%s>", nt->receivers[i]);
		rcpt = curl_slist_append(rcpt, to);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_USE_SSL,
			 nt->tls == NT_TLS_NONE ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	if (strcmp(nt->auth_type, "none") && nt->smtp_username && *nt->smtp_username) {
		curl_easy_setopt(h, CURLOPT_USERNAME, nt->smtp_username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, nt->smtp_password ? nt->smtp_password : "");
		for (size_t i = 0; i < sizeof(auths) / sizeof(auths[0]); i++)
			if (!strcmp(nt->auth_type, auths[i].name))
				curl_easy_setopt(h, CURLOPT_LOGIN_OPTIONS, auths[i].opt);
	}
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_msg);
	curl_easy_setopt(h, CURLOPT_READDATA, &r);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)mlen);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
	if (cms > 0)
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, cms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (nt->skip_tls_verify) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	rc = curl_easy_perform(h);
	curl_easy_cleanup(h);
	curl_slist_free_all(rcpt);
	free(msg);
	if (rc != CURLE_OK) {
		log_warn("notification %s: smtp %s:%ld: %s", nt->name, nt->smtp_host, nt->smtp_port,
			 curl_easy_strerror(rc));
		return -EIO;
	}
	log_info("notification %s: sent email to %zu receiver(s)", nt->name, nt->nreceivers);
	return 0;
}
