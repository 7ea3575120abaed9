"""socklab's grader: see README.md, "For instructors"."""
