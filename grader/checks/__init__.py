"""One module per step: grader/checks/sNN_slug.py, named by grader/registry.py."""
