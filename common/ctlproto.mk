# common/ctlproto.mk: the control-socket protocol (common/ctlproto.h,
# docs/control.md) and the tests of its two ends: the pure message code and
# the daemon's socket server (daemon/control.c, compiled into idleclawd by
# daemon/local.mk).
libidleclaw_a_SOURCES += \
	common/ctlproto.c common/ctlproto.h
