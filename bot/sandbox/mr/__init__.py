"""Merge requests of the offline GitLab: records, rules, routes and hooks."""
