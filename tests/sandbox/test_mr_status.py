"""Tables for the pure mergeability rules of ``bot.sandbox.mr.status``."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sandbox.mr import status
from bot.sandbox.mr.model import is_draft_title, label_scope
from bot.sandbox.mr.status import MergeFacts

READY = MergeFacts(
    state="opened",
    draft=False,
    checking=False,
    source_exists=True,
    has_commits=True,
    has_conflicts=False,
    behind_target=False,
)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "mergeable"),
        ({"state": "closed"}, "not_open"),
        ({"state": "merged", "draft": True}, "not_open"),
        ({"checking": True}, "checking"),
        ({"checking": True, "draft": True}, "checking"),
        ({"draft": True}, "draft_status"),
        ({"draft": True, "has_conflicts": True}, "draft_status"),
        ({"source_exists": False}, "commits_status"),
        ({"has_commits": False}, "commits_status"),
        ({"has_conflicts": True}, "conflict"),
        (
            {"has_conflicts": True, "behind_target": True, "merge_method": "ff"},
            "conflict",
        ),
        ({"behind_target": True}, "mergeable"),
        ({"behind_target": True, "merge_method": "ff"}, "need_rebase"),
        ({"behind_target": True, "merge_method": "rebase_merge"}, "need_rebase"),
        ({"approvals_left": 1}, "not_approved"),
        ({"approvals_left": 1, "pipeline_must_succeed": True}, "not_approved"),
        ({"pipeline_must_succeed": True}, "ci_must_pass"),
        ({"pipeline_must_succeed": True, "pipeline_status": "failed"}, "ci_must_pass"),
        (
            {"pipeline_must_succeed": True, "pipeline_status": "running"},
            "ci_still_running",
        ),
        (
            {"pipeline_must_succeed": True, "pipeline_status": "pending"},
            "ci_still_running",
        ),
        ({"pipeline_must_succeed": True, "pipeline_status": "success"}, "mergeable"),
        ({"pipeline_must_succeed": True, "pipeline_status": "skipped"}, "ci_must_pass"),
        (
            {
                "pipeline_must_succeed": True,
                "pipeline_status": "skipped",
                "allow_merge_on_skipped_pipeline": True,
            },
            "mergeable",
        ),
        ({"pipeline_status": "failed"}, "mergeable"),
    ],
)
def test_detailed_merge_status(changes: dict, expected: str) -> None:
    """Each blocking fact yields GitLab's value, in GitLab's order of checks."""
    assert status.detailed_merge_status(replace(READY, **changes)) == expected


@pytest.mark.parametrize(
    ("changes", "merge_status", "conflicts"),
    [
        ({}, "can_be_merged", False),
        ({"checking": True}, "checking", False),
        ({"has_conflicts": True}, "cannot_be_merged", True),
        ({"has_conflicts": True, "checking": True}, "checking", False),
        ({"source_exists": False}, "cannot_be_merged", False),
        ({"draft": True, "approvals_left": 2}, "can_be_merged", False),
        ({"state": "merged", "checking": True}, "can_be_merged", False),
    ],
)
def test_legacy_merge_status_reflects_git_only(
    changes: dict, merge_status: str, conflicts: bool
) -> None:
    """merge_status ignores draft/approvals; has_conflicts needs cannot_be_merged."""
    facts = replace(READY, **changes)

    assert status.merge_status(facts) == merge_status
    assert status.has_conflicts(facts) is conflicts


def test_is_mergeable_ignores_the_checking_window() -> None:
    """A merge runs its own check, so a pending 'checking' read does not block it."""
    assert status.is_mergeable(replace(READY, checking=True))
    assert not status.is_mergeable(replace(READY, checking=True, draft=True))


@given(
    state=st.sampled_from(["opened", "closed", "merged", "locked"]),
    flags=st.lists(st.booleans(), min_size=6, max_size=6),
    approvals_left=st.integers(0, 3),
    pipeline=st.sampled_from([None, "running", "success", "failed", "skipped"]),
    method=st.sampled_from(["merge", "ff", "rebase_merge"]),
)
@settings(max_examples=60, deadline=None)
def test_mergeable_only_when_nothing_blocks(
    state: str,
    flags: list[bool],
    approvals_left: int,
    pipeline: str | None,
    method: str,
) -> None:
    """'mergeable' appears exactly when every individual condition passes."""
    draft, checking, exists, commits, conflicts, behind = flags
    facts = MergeFacts(
        state=state,
        draft=draft,
        checking=checking,
        source_exists=exists,
        has_commits=commits,
        has_conflicts=conflicts,
        behind_target=behind,
        merge_method=method,
        pipeline_must_succeed=True,
        pipeline_status=pipeline,
        approvals_left=approvals_left,
    )
    clear = (
        state == "opened"
        and not (draft or checking or conflicts)
        and exists
        and commits
        and not (behind and method != "merge")
        and approvals_left == 0
        and pipeline == "success"
    )

    assert (status.detailed_merge_status(facts) == "mergeable") is clear


@pytest.mark.parametrize(
    ("title", "draft"),
    [
        ("Draft: bump", True),
        ("draft:bump", True),
        ("[Draft] bump", True),
        ("(draft) bump", True),
        ("  Draft: bump", True),
        ("Drafting bump", False),
        ("bump (Draft)", False),
        ("WIP: bump", False),
    ],
)
def test_draft_title_prefixes(title: str, draft: bool) -> None:
    """Only GitLab's leading draft markers make a merge request a draft."""
    assert is_draft_title(title) is draft


@pytest.mark.parametrize(
    ("name", "scope"),
    [("prio::high", "prio"), ("a::b::c", "a::b"), ("plain", None), ("a:b", None)],
)
def test_label_scope_is_text_before_last_double_colon(
    name: str, scope: str | None
) -> None:
    """Scoped labels are keyed by everything before the last '::'."""
    assert label_scope(name) == scope
