// SPDX-License-Identifier: MIT
/* cscli: the operator's tool (cscli.c has the command table). */
#include "cscli/cscli.h"

int main(int argc, char **argv)
{
	return cscli_main(argc, argv);
}
