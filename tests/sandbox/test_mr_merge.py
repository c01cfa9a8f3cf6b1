"""Contract tests: merging, auto-merge and approvals through python-gitlab."""

from __future__ import annotations

import gitlab
import pytest

from bot.sandbox.records import DEVELOPER, MAINTAINER, REPORTER
from bot.sandbox.testing import client
from tests.sandbox.mr_support import (
    add_member,
    error_of,
    open_mr,
    protect,
    settle,
    user_client,
    write_file,
)


@pytest.fixture
def project(make_project):
    """A fresh project with a README on main."""
    return make_project("shop")


def test_merge_creates_a_real_merge_commit_and_removes_the_source(project) -> None:
    """200 merged; main has a two-parent commit; the source branch is deleted."""
    mr = open_mr(project)
    head = mr.sha
    mr.merge(sha=head, should_remove_source_branch=True)

    assert mr.state == "merged" and mr.merged_by["username"] == "root"
    main_file = project.files.get("feature.txt", ref="main")
    assert main_file.last_commit_id == head
    assert main_file.commit_id == mr.merge_commit_sha
    assert mr.merge_commit_sha is not None and mr.merge_commit_sha != head
    with pytest.raises(gitlab.GitlabGetError):
        project.files.get("feature.txt", ref="feature")
    assert settle(project, mr.iid).detailed_merge_status == "not_open"
    assert "merged" in [n.body for n in mr.notes.list(get_all=True) if n.system]


def test_sha_mismatch_is_409_with_the_current_head(project) -> None:
    """A stale sha guard names the real head and merges nothing."""
    mr = open_mr(project)

    with pytest.raises(gitlab.GitlabMRClosedError) as excinfo:
        mr.merge(sha="0" * 40)

    assert error_of(excinfo) == (
        409,
        f"SHA does not match HEAD of source branch: {mr.sha}",
    )
    assert project.mergerequests.get(mr.iid).state == "opened"


def test_user_who_cannot_merge_gets_401(project, sandbox, gl) -> None:
    """A developer facing a maintainer-only protected target gets 401, not 403."""
    dev, dev_gl = user_client(sandbox, gl, "dev")
    add_member(sandbox, project.id, dev.id, DEVELOPER)
    protect(sandbox, project.id, "main", MAINTAINER)
    mr = open_mr(project)

    # python-gitlab raises its authentication error for every 401.
    with pytest.raises(gitlab.GitlabAuthenticationError) as excinfo:
        dev_gl.projects.get(project.id, lazy=True).mergerequests.get(mr.iid).merge()

    assert error_of(excinfo) == (401, "401 Unauthorized")
    assert project.mergerequests.get(mr.iid).user["can_merge"] is True


@pytest.mark.parametrize("blocker", ["draft", "closed"])
def test_not_mergeable_is_405(project, blocker) -> None:
    """Draft or closed MRs answer 405 Method Not Allowed."""
    mr = open_mr(project, title="Draft: x" if blocker == "draft" else "x")
    if blocker == "closed":
        mr.state_event = "close"
        mr.save()

    with pytest.raises(gitlab.GitlabMRClosedError) as excinfo:
        mr.merge()

    assert error_of(excinfo) == (405, "405 Method Not Allowed")


def test_conflict_is_reported_and_merge_is_405(project) -> None:
    """Both branches edit the same line: conflict status, has_conflicts, refused."""
    write_file(project, "feature", "README.md", "feature side\n", start="main")
    mr = project.mergerequests.create(
        {"source_branch": "feature", "target_branch": "main", "title": "t"}
    )
    write_file(project, "main", "README.md", "main side\n")

    settled = settle(project, mr.iid)
    assert settled.detailed_merge_status == "conflict"
    assert settled.merge_status == "cannot_be_merged" and settled.has_conflicts is True
    with pytest.raises(gitlab.GitlabMRClosedError) as excinfo:
        settled.merge()
    assert excinfo.value.response_code == 405


def test_fast_forward_project_needs_rebase_then_fast_forwards(make_project) -> None:
    """ff-only: behind -> need_rebase and 405; up to date -> main = source head."""
    project = make_project("ff", merge_method="ff")
    behind = open_mr(project, "behind")
    write_file(project, "main", "other.txt", "x\n")

    assert settle(project, behind.iid).detailed_merge_status == "need_rebase"
    with pytest.raises(gitlab.GitlabMRClosedError):
        behind.merge()

    fresh = open_mr(project, "fresh")
    fresh.merge()
    assert project.files.get("fresh.txt", ref="main").commit_id == fresh.sha
    assert fresh.merge_commit_sha is None


def test_squash_makes_one_commit(project) -> None:
    """squash=true stores the flag and records the squash commit."""
    mr = open_mr(project)
    write_file(project, "feature", "feature.txt", "two\n")
    mr = settle(project, mr.iid)
    mr.merge(squash=True)

    assert mr.squash is True and mr.squash_commit_sha not in (None, mr.sha)
    assert project.files.get("feature.txt", ref="main").decode() == b"two\n"


def test_pipeline_required_blocks_until_part_two(make_project) -> None:
    """Without pipelines (part 2) a must-succeed project reports ci_must_pass, 405."""
    project = make_project("ci", only_allow_merge_if_pipeline_succeeds=True)
    mr = open_mr(project)

    assert settle(project, mr.iid).detailed_merge_status == "ci_must_pass"
    with pytest.raises(gitlab.GitlabMRClosedError) as excinfo:
        mr.merge(auto_merge=True)
    assert excinfo.value.response_code == 405


def test_auto_merge_waits_for_approval_then_merges(project, sandbox, gl) -> None:
    """Rule unmet: auto_merge is stored; the approval merges it; cancel works."""
    reviewer, reviewer_gl = user_client(sandbox, gl, "reviewer")
    add_member(sandbox, project.id, reviewer.id, DEVELOPER)
    mr = open_mr(project)
    mr.approval_rules.create(
        {"name": "ops", "approvals_required": 1, "user_ids": [reviewer.id]}
    )

    assert settle(project, mr.iid).detailed_merge_status == "not_approved"
    mr.merge(auto_merge=True)
    assert mr.merge_when_pipeline_succeeds is True and mr.state == "opened"

    mr.cancel_merge_when_pipeline_succeeds()
    assert project.mergerequests.get(mr.iid).merge_when_pipeline_succeeds is False
    mr.merge(merge_when_pipeline_succeeds=True)

    reviewer_gl.projects.get(project.id, lazy=True).mergerequests.get(mr.iid).approve(
        sha=mr.sha
    )
    assert project.mergerequests.get(mr.iid).state == "merged"


def test_auto_merge_without_blockers_merges_at_once(project) -> None:
    """Nothing pending and no pipeline required: auto_merge merges immediately."""
    mr = open_mr(project)
    mr.merge(auto_merge=True)

    assert mr.state == "merged"


def test_approve_unapprove_and_their_refusals(project, sandbox, gl) -> None:
    """409 stale sha, 401 author (premium), 304 repeat, 403 reporter, unapprove 304."""
    dev, dev_gl = user_client(sandbox, gl, "dev")
    reporter, reporter_gl = user_client(sandbox, gl, "rep")
    add_member(sandbox, project.id, dev.id, DEVELOPER)
    add_member(sandbox, project.id, reporter.id, REPORTER)
    mr = open_mr(project)
    as_dev = dev_gl.projects.get(project.id, lazy=True).mergerequests.get(mr.iid)
    as_reporter = reporter_gl.projects.get(project.id, lazy=True).mergerequests.get(
        mr.iid
    )

    def refusal(call):
        with pytest.raises(
            (gitlab.GitlabMRApprovalError, gitlab.GitlabAuthenticationError)
        ) as excinfo:
            call()
        return excinfo.value.response_code

    assert refusal(lambda: as_dev.approve(sha="f" * 40)) == 409
    assert refusal(lambda: mr.approve()) == 401
    assert refusal(lambda: as_reporter.approve()) == 403
    as_dev.approve(sha=mr.sha)
    assert refusal(lambda: as_dev.approve()) == 304

    approvals = mr.approvals.get()
    assert [a["user"]["username"] for a in approvals.approved_by] == ["dev"]
    assert approvals.approvals_required == 0 and approvals.approvals_left == 0
    seen_by_dev = as_dev.approvals.get()
    assert (seen_by_dev.user_has_approved, approvals.user_has_approved) == (True, False)

    as_dev.unapprove()
    assert refusal(lambda: as_dev.unapprove()) == 304
    assert mr.approvals.get().approved_by == []


def test_rules_and_approval_state_on_premium(project, sandbox, gl) -> None:
    """Rules CRUD; approval_state tells who approved which rule."""
    dev, dev_gl = user_client(sandbox, gl, "dev")
    add_member(sandbox, project.id, dev.id, DEVELOPER)
    mr = open_mr(project)
    rule = mr.approval_rules.create(
        {"name": "ops", "approvals_required": 2, "user_ids": [dev.id]}
    )

    assert mr.approvals.get().approvals_left == 2
    rule.approvals_required = 1
    rule.save()
    dev_gl.projects.get(project.id, lazy=True).mergerequests.get(mr.iid).approve()

    state = mr.approval_state.get()
    assert state.rules[0]["approved"] is True
    assert [u["id"] for u in state.rules[0]["approved_by"]] == [dev.id]
    assert settle(project, mr.iid).detailed_merge_status == "mergeable"

    rule.delete()
    assert mr.approval_rules.list() == []
    with pytest.raises(gitlab.GitlabGetError) as excinfo:
        mr.approval_rules.get(rule.id)
    assert error_of(excinfo) == (404, "404 Not found")


def test_push_resets_approvals_on_premium(project, sandbox, gl) -> None:
    """New commits on the source drop approvals and note the commits."""
    dev, dev_gl = user_client(sandbox, gl, "dev")
    add_member(sandbox, project.id, dev.id, DEVELOPER)
    mr = open_mr(project)
    dev_gl.projects.get(project.id, lazy=True).mergerequests.get(mr.iid).approve()
    new_head = write_file(project, "feature", "feature.txt", "v2\n")

    after = project.mergerequests.get(mr.iid)
    assert after.sha == new_head == after.diff_refs["head_sha"]
    assert mr.approvals.get().approved_by == []
    bodies = [n.body for n in mr.notes.list(get_all=True) if n.system]
    added = [body for body in bodies if body.startswith("added 1 commit\n\n")]
    assert len(added) == 1
    assert f"<ul><li>{new_head[:8]} - edit feature.txt</li></ul>" in added[0]
    assert "[Compare with previous version](/" in added[0]


def test_reset_approvals_is_for_bots_only(project, sandbox, gl) -> None:
    """Humans (even admin, even named like a bot) get 401; a token's bot resets."""
    mr = open_mr(project)
    lookalike, lookalike_gl = user_client(sandbox, gl, f"project_{project.id}_bot_x")
    add_member(sandbox, project.id, lookalike.id, DEVELOPER)
    dev, dev_gl = user_client(sandbox, gl, "dev")
    add_member(sandbox, project.id, dev.id, DEVELOPER)
    dev_gl.projects.get(project.id, lazy=True).mergerequests.get(mr.iid).approve()
    token = project.access_tokens.create(
        {"name": "bot", "scopes": ["api"], "access_level": DEVELOPER}
    )
    as_bot = client(sandbox, token.token).projects.get(project.id, lazy=True)

    for human in (gl, lookalike_gl):
        theirs = human.projects.get(project.id, lazy=True).mergerequests.get(mr.iid)
        with pytest.raises(gitlab.GitlabAuthenticationError) as excinfo:
            theirs.reset_approvals()
        assert error_of(excinfo) == (401, "401 Unauthorized")
        assert [a["user"]["id"] for a in mr.approvals.get().approved_by] == [dev.id]

    assert as_bot.mergerequests.get(mr.iid).reset_approvals() == 202
    assert mr.approvals.get().approved_by == []
    mr.merge()
    with pytest.raises(gitlab.GitlabAuthenticationError) as excinfo:
        as_bot.mergerequests.get(mr.iid).reset_approvals()
    assert error_of(excinfo) == (401, "401 Unauthorized")


def test_free_tier_has_no_rules(make_user) -> None:
    """Free: approvals_required 0; approval_state/approval_rules are route 404s."""
    from bot.sandbox.server import SandboxThread
    from bot.sandbox.testing import client, create_project

    with SandboxThread(tier="free") as free:
        project = create_project(client(free, free.root_token), "free")
        mr = open_mr(project)
        mr.approve()  # the author may approve on free

        approvals = mr.approvals.get()
        assert approvals.approvals_required == 0 and len(approvals.approved_by) == 1
        for call in (mr.approval_state.get, mr.approval_rules.list):
            with pytest.raises(gitlab.GitlabError) as excinfo:
                call()
            assert error_of(excinfo) == (404, "404 Not Found")
