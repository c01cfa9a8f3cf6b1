"""The deploy flow: one request becomes one open merge request per key.

DESIGN.md "Deploy request", for one (app, environment):

1. ``check_request`` (pure): names, tag, digest, policy;
2. ``fetch_snapshot``: the manifests at the target head and the open bot
   merge requests for the key, read in parallel (2 calls for one file);
3. ``plan_deploy`` (pure): edit in memory, order versions, choose the
   merge request that survives, render title, description and labels;
4. ``carry_out``: read the changelog (``changelog``: one compare call on
   the source project, never failing the deploy), commit the branch
   rebuilt from the head we read, then create or update the merge
   request. Nothing is answered before both exist in GitLab (principle 4).
   A new MR's branch is started without ``force``: if it exists, an open
   MR on it that escaped the label listing is version-checked before
   anything is written.

A commit landing on the target between steps 2 and 4 is not lost: the
branch is based on the SHA we read, GitLab shows the MR as behind, and the
next request or merge-gate regeneration rebuilds it on the new head.
Requests for one key are serialised by ``KeyedLocks``; different keys run
in parallel, bounded by the adapter's semaphore.
"""

from bot.deploy.flow import carry_out, deploy, fetch_snapshot
from bot.deploy.locks import KeyedLocks
from bot.deploy.model import (
    DeployRequest,
    DeployResult,
    ManifestMismatch,
    ManifestMissing,
    ManifestUnusable,
    MergeRequestRef,
    Pinned,
    Plan,
    Snapshot,
    TargetMoved,
)
from bot.deploy.plan import check_request, is_bot_merge_request, plan_deploy, targets

__all__ = [
    "DeployRequest",
    "DeployResult",
    "KeyedLocks",
    "ManifestMismatch",
    "ManifestMissing",
    "ManifestUnusable",
    "MergeRequestRef",
    "Pinned",
    "Plan",
    "Snapshot",
    "TargetMoved",
    "carry_out",
    "check_request",
    "deploy",
    "fetch_snapshot",
    "is_bot_merge_request",
    "plan_deploy",
    "targets",
]
