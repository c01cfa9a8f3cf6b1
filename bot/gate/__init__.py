"""The merge gate: a pure decision over one bot merge request, and the code
that reads its input from GitLab and carries the decision out.

Pure (no I/O, no logging), exported here:

- ``model``: ``GateInput`` (what the adapter fetched) and the ``Decision``
  values ``Merge``, ``Wait``, ``Regenerate``, ``ReportFailure``,
  ``CancelAutoMerge``, each carrying every blocking ``Reason``.
- ``decide``: ``decide(state)``, pipeline selection, and
  ``merge_response_action`` for GitLab's refusals of a merge call.
- ``approvals``: which approvals count, and why the others do not.
- ``report``: ``status_report`` for ``/gitops status``.

Acting (calls GitLab through ``bot.gitlab``), imported from its module:

- ``fetch``: reads one merge request's ``GateInput`` in as few calls as it can.
- ``notes``: ``GateNotes``, what the notes say, listed only when they changed.
- ``execute``: ``MergeGate`` runs fetch, decide and the action (merge with
  the SHA guard, labels, comments) under a per-merge-request lock.
"""

from bot.gate.approvals import ApprovalCount, count_approvals
from bot.gate.decide import (
    decide,
    is_for_head,
    latest_jobs,
    merge_response_action,
    select_head_pipeline,
)
from bot.gate.model import (
    HOLD_LABEL,
    MERGE_REQUESTED_LABEL,
    Approver,
    CancelAutoMerge,
    Decision,
    FreezeState,
    GateInput,
    GatePolicy,
    JobState,
    Merge,
    MergeRequestState,
    PipelineState,
    Reason,
    Regenerate,
    ReportFailure,
    Wait,
)
from bot.gate.report import status_report

__all__ = [
    "HOLD_LABEL",
    "MERGE_REQUESTED_LABEL",
    "ApprovalCount",
    "Approver",
    "CancelAutoMerge",
    "Decision",
    "FreezeState",
    "GateInput",
    "GatePolicy",
    "JobState",
    "Merge",
    "MergeRequestState",
    "PipelineState",
    "Reason",
    "Regenerate",
    "ReportFailure",
    "Wait",
    "count_approvals",
    "decide",
    "is_for_head",
    "latest_jobs",
    "merge_response_action",
    "select_head_pipeline",
    "status_report",
]
