// SPDX-License-Identifier: MIT
/*
 * XMLGetNodeValue / XMLGetAttributeValue (Windows event logs) with libxml2's
 * XPath. CrowdSec uses xmlquery, which matches element names without their
 * namespace, so `/Event/System/EventID` finds elements under Windows' default
 * namespace: we reproduce that by dropping namespaces after parsing.
 *
 * libxml2 is used when its headers are on the include path (libxml-2.0 in the
 * Makefile's PKGS); otherwise both helpers return "" as if nothing matched.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "expr/expr_int.h"

#if __has_include(<libxml/xpath.h>)
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xmlerror.h>

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
	xmlInitParser();
}

static void silent(void *ctx, const xmlError *err)
{
	(void)ctx;
	(void)err;
}

static void strip_ns(xmlNodePtr n, int depth)
{
	/* documents are bounded by libxml2's own depth limit; guard anyway */
	for (; n && depth < 256; n = n->next) {
		if (n->type == XML_ELEMENT_NODE) {
			n->ns = NULL;
			for (xmlAttrPtr a = n->properties; a; a = a->next)
				a->ns = NULL;
		}
		strip_ns(n->children, depth + 1);
	}
}

/* First node matching path, or NULL. *docp must be freed by the caller. */
static xmlNodePtr xml_find(const struct expr_value *xml, const struct expr_value *path,
			   xmlDocPtr *docp)
{
	xmlXPathContextPtr xctx = NULL;
	xmlXPathObjectPtr res = NULL;
	xmlNodePtr node = NULL;
	xmlDocPtr doc;

	pthread_once(&xml_once, xml_init);
	xmlSetStructuredErrorFunc(NULL, (xmlStructuredErrorFunc)silent);
	/*
	 * Go's etree keeps text before the root element as character data; libxml2
	 * refuses the document. Event Viewer's "Copy details" XML starts with "- ",
	 * and the hub's windows parser reads exactly that, so skip to the first tag.
	 */
	const char *start = memchr(xml->s->s, '<', xml->s->len);
	size_t skip = start ? (size_t)(start - xml->s->s) : 0;

	*docp = doc = xmlReadMemory(xml->s->s + skip, (int)(xml->s->len - skip), NULL, NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return NULL;
	strip_ns(xmlDocGetRootElement(doc), 0);
	xctx = xmlXPathNewContext(doc);
	if (xctx)
		res = xmlXPathEvalExpression((const xmlChar *)path->s->s, xctx);
	if (res && res->type == XPATH_NODESET && res->nodesetval &&
	    res->nodesetval->nodeNr > 0)
		node = res->nodesetval->nodeTab[0];
	xmlXPathFreeObject(res);
	xmlXPathFreeContext(xctx);
	return node;
}

static xmlChar *node_content(xmlNodePtr node, const struct expr_value *args)
{
	return xmlNodeGetContent(node);
}

static xmlChar *node_attribute(xmlNodePtr node, const struct expr_value *args)
{
	return node->type == XML_ELEMENT_NODE ? xmlGetProp(node, (const xmlChar *)args[2].s->s) :
						NULL;
}

/* What `text` reads from the first node args[1] finds in args[0]; "" when none. */
static int xml_text(const struct expr_value *args,
		    xmlChar *(*text)(xmlNodePtr node, const struct expr_value *args),
		    struct expr_value *out)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr node = xml_find(&args[0], &args[1], &doc);
	xmlChar *txt = node ? text(node, args) : NULL;
	int err = expr_string(txt ? (const char *)txt : "", out);

	xmlFree(txt);
	xmlFreeDoc(doc);
	return err;
}

int h_xml_get_node_value(struct expr_ctx *ctx, const struct expr_value *args, int nargs,
			 struct expr_value *out)
{
	return xml_text(args, node_content, out);
}

int h_xml_get_attribute_value(struct expr_ctx *ctx, const struct expr_value *args, int nargs,
			      struct expr_value *out)
{
	return xml_text(args, node_attribute, out);
}

bool expr_xml_available(void)
{
	return true;
}

#else /* no libxml2 on the include path */

int h_xml_get_node_value(struct expr_ctx *ctx, const struct expr_value *args, int nargs,
			 struct expr_value *out)
{
	return expr_string("", out);
}

int h_xml_get_attribute_value(struct expr_ctx *ctx, const struct expr_value *args, int nargs,
			      struct expr_value *out)
{
	return expr_string("", out);
}

bool expr_xml_available(void)
{
	return false;
}

#endif
