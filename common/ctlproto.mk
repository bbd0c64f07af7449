# common/ctlproto.mk: the control-socket protocol; filled in by its owner
