# tests/fake-ollama/local.mk: filled in by its owner
