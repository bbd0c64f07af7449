/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* licence.h - the copyright and licence lines every --version prints after
 * its first line, as GNU programs print them. */
#ifndef IC_LICENCE_H
#define IC_LICENCE_H

#define IC_LICENCE_NOTICE                                                      \
	"Copyright (C) 2026 The IdleClaw authors.\n"                           \
	"License AGPLv3+: GNU AGPL version 3 or later "                        \
	"<https://gnu.org/licenses/agpl.html>.\n"                              \
	"This is free software: you are free to change and redistribute it.\n" \
	"There is NO WARRANTY, to the extent permitted by law.\n"

#endif
