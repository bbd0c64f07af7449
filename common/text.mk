# common/text.mk: filled in by its owner
