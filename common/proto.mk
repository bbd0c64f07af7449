# common/proto.mk: filled in by its owner
