"""Our own fixture cases: one row per behaviour, expected edits spelled out.

Each change is written as the input line (1-based) and the exact text that
must replace a part of it, or a line to insert or delete; the expected
output is built from the input with plain string operations, never by the
code under test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.manifests import Target

D1 = "sha256:" + "a" * 64
D2 = "sha256:" + "0123456789abcdef" * 4
D4 = "sha256:" + "4" * 64

KZ_FLUSH = "kustomize/flush/kustomization.yaml"
KZ_INDENTED = "kustomize/indented/kustomization.yaml"
KZ_CRLF = "kustomize/crlf/kustomization.yaml"
VALUES = "helm/values.yaml"
CURRENT = "helm/current-values.yaml"
WORKLOADS = "manifests/workloads.yaml"
LIST = "manifests/list.yaml"
LIST_MULTIDOC = "manifests/list-multidoc.yaml"
APP = "argocd/application.yaml"
SOURCE = "argocd/.argocd-source-shop.yaml"
SETTERS = "flux/setters.yaml"
PARTIAL = "flux/partial-markers.yaml"


@dataclass(frozen=True)
class Sub:
    """On 1-based ``line``, the text ``old`` (once on the line) becomes ``new``."""

    line: int
    old: str
    new: str


@dataclass(frozen=True)
class Add:
    """Whole lines inserted after 1-based ``after`` (0: at the top)."""

    after: int
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Drop:
    """The 1-based ``line`` is removed."""

    line: int


@dataclass(frozen=True)
class Case:
    """One request on one fixture and what must come of it."""

    id: str
    file: str
    target: Target
    tag: str | None = None
    digest: str | None = None
    edits: tuple[Sub | Add | Drop, ...] = ()
    refuse: str | None = None
    notes: tuple[str, ...] = field(default=())
    new_name: str | None = None

    def request(self) -> dict[str, str | None]:
        """Return the keyword arguments ``edit`` takes for this case."""
        return {"tag": self.tag, "digest": self.digest, "new_name": self.new_name}


def kz(image: str) -> Target:
    """A kustomize target."""
    return Target("kustomize", image=image)


def hm(key: str, image: str | None = None) -> Target:
    """A helm values target, with an optional repository check."""
    return Target("helm", key=key, image=image)


def mf(image: str) -> Target:
    """A plain manifest target."""
    return Target("manifest", image=image)


def ac(image: str | None = None, key: str | None = None) -> Target:
    """An Argo CD target."""
    return Target("argocd", image=image, key=key)


def fx(policy: str) -> Target:
    """A Flux setter target."""
    return Target("flux", policy=policy)


API = "registry.example.com:5000/shop/api"

KUSTOMIZE = [
    Case(
        "kz-tag-drops-stale-digest",
        KZ_FLUSH,
        kz(API),
        "1.5.0",
        edits=(Sub(8, '"1.4.0"', '"1.5.0"'), Drop(9)),
    ),
    Case("kz-same-tag-keeps-digest", KZ_FLUSH, kz(API), "1.4.0"),
    Case(
        "kz-digest-only",
        KZ_FLUSH,
        kz(API),
        digest=D1,
        edits=(Sub(9, "sha256:" + "1" * 64, D1),),
    ),
    Case(
        "kz-match-by-newname",
        KZ_FLUSH,
        kz("registry.example.com/shop/worker"),
        "v2.1.0",
        edits=(Sub(12, "v2.0.0 #", "v2.1.0 #"),),
    ),
    Case(
        "kz-add-newtag-quoted",
        KZ_FLUSH,
        kz("nginx"),
        "1.27",
        edits=(Add(14, ('  newTag: "1.27"',)),),
    ),
    Case(
        "kz-add-tag-and-digest",
        KZ_FLUSH,
        kz("nginx"),
        "1.27.1",
        D1,
        edits=(Add(14, ("  newTag: 1.27.1", f"  digest: {D1}")),),
    ),
    Case(
        "kz-flow-entry-tag",
        KZ_FLUSH,
        kz("flowimage"),
        "4",
        edits=(Sub(15, "'3'", "'4'"),),
    ),
    Case(
        "kz-flow-entry-add-field-refused",
        KZ_FLUSH,
        kz("flowimage"),
        digest=D1,
        refuse="cannot add digest to a flow-style entry",
    ),
    Case(
        "kz-add-entry-flush",
        KZ_FLUSH,
        kz("newimage"),
        "v1",
        edits=(Add(15, ("- name: newimage", "  newTag: v1")),),
    ),
    Case(
        "kz-add-images-indented-no-final-newline",
        KZ_INDENTED,
        kz("app"),
        "1.0.0",
        edits=(Add(4, ("images:", "    - name: app", "      newTag: 1.0.0")),),
    ),
    Case(
        "kz-crlf-bom-quoted",
        KZ_CRLF,
        kz("app"),
        "0.10",
        edits=(Sub(5, '"0.9"', '"0.10"'),),
    ),
    Case(
        "kz-crlf-add-digest",
        KZ_CRLF,
        kz("app"),
        digest=D2,
        edits=(Add(5, (f"    digest: {D2}",)),),
    ),
]

MIRROR = "mirror.example.com/shop/api"

# newName: set on the matched entry (inserted after name), written in new ones.
KUSTOMIZE_NEW_NAME = [
    Case(
        "kz-new-name-inserted-after-name-keeps-digest",
        KZ_FLUSH,
        kz(API),
        new_name=MIRROR,
        edits=(Add(7, (f"  newName: {MIRROR}",)),),
    ),
    Case(
        "kz-new-name-and-tag-drops-stale-digest",
        KZ_FLUSH,
        kz(API),
        "1.5.0",
        new_name=MIRROR,
        edits=(Add(7, (f"  newName: {MIRROR}",)), Sub(8, "1.4.0", "1.5.0"), Drop(9)),
    ),
    Case(
        "kz-new-name-replaced",
        KZ_FLUSH,
        kz("worker"),
        new_name="mirror.example.com/shop/worker",
        edits=(Sub(11, "registry.example.com", "mirror.example.com"),),
    ),
    Case(
        "kz-new-name-equal-is-a-no-op",
        KZ_FLUSH,
        kz("worker"),
        "v2.0.0",
        new_name="registry.example.com/shop/worker",
    ),
    Case(
        "kz-new-name-on-an-entry-without-one",
        KZ_FLUSH,
        kz("flowimage"),
        new_name="mirror.example.com/flowimage",
        refuse="cannot add newName to a flow-style entry",
    ),
    Case(
        "kz-new-entry-with-new-name",
        KZ_FLUSH,
        kz("newimage"),
        "v1",
        new_name="localhost:5000/newimage",
        edits=(
            Add(15, ("- name: newimage", "  newName: localhost:5000/newimage")),
            Add(15, ("  newTag: v1",)),
        ),
    ),
    Case(
        "kz-new-entry-new-name-only",
        KZ_FLUSH,
        kz("newimage"),
        new_name="mirror.example.com/newimage",
        edits=(
            Add(15, ("- name: newimage", "  newName: mirror.example.com/newimage")),
        ),
    ),
    Case(
        "kz-new-images-all-four-fields-in-order",
        KZ_INDENTED,
        kz("app"),
        "1.0.0",
        D1,
        new_name=MIRROR,
        edits=(
            Add(4, ("images:", "    - name: app", f"      newName: {MIRROR}")),
            Add(4, ("      newTag: 1.0.0", f"      digest: {D1}")),
        ),
    ),
    Case(
        "kz-crlf-new-name",
        KZ_CRLF,
        kz("app"),
        new_name=MIRROR,
        edits=(Add(4, (f"    newName: {MIRROR}",)),),
    ),
    Case(
        "kz-new-name-with-tag-refused",
        KZ_FLUSH,
        kz(API),
        new_name="a:b",
        refuse="image repository 'a:b' carries a tag after its last ':'",
    ),
    Case(
        "kz-new-name-with-digest-refused",
        KZ_FLUSH,
        kz(API),
        new_name=f"{MIRROR}@{D1}",
        refuse="carries a digest; pass it with --digest",
    ),
    Case(
        "kz-new-name-with-space-refused",
        KZ_FLUSH,
        kz(API),
        new_name="mirror.example.com/shop api",
        refuse="contains whitespace or control characters",
    ),
    Case(
        "kz-new-name-with-newline-refused",
        KZ_FLUSH,
        kz(API),
        new_name="mirror.example.com/shop\napi",
        refuse="contains whitespace or control characters",
    ),
    Case(
        "kz-new-name-dot-dot-refused",
        KZ_FLUSH,
        kz(API),
        new_name="../shop/api",
        refuse="image repository '../shop/api' is not a valid name",
    ),
    Case(
        "kz-new-name-upper-case-path-refused",
        KZ_FLUSH,
        kz(API),
        new_name="Shop/api",
        refuse="image repository 'Shop/api' is not a valid name",
    ),
    Case(
        "kz-new-name-empty-refused",
        KZ_FLUSH,
        kz(API),
        "v1",
        new_name="",
        refuse="image repository is empty",
    ),
]

# --new-name is a kustomize field: every other kind refuses it.
NEW_NAME_ELSEWHERE = [
    Case(
        f"new-name-refused-for-{kind}",
        file,
        target,
        "v2",
        new_name=MIRROR,
        refuse="a new image name (--new-name) is a kustomize images field; "
        f"this file is {kind}",
    )
    for kind, file, target in [
        ("helm", VALUES, hm("image.tag")),
        ("manifest", WORKLOADS, mf(API)),
        ("argocd", APP, ac("api")),
        ("flux", SETTERS, fx("flux-system:app")),
    ]
]

HELM = [
    Case(
        "hm-quoted-float-like",
        VALUES,
        hm("image.tag"),
        "1.10",
        edits=(Sub(8, '"1.9"', '"1.10"'),),
    ),
    Case("hm-same-tag", VALUES, hm("image.tag"), "1.9"),
    Case(
        "hm-block-tag-and-digest",
        VALUES,
        hm("image"),
        "2.0",
        D1,
        edits=(Sub(8, '"1.9"', '"2.0"'), Sub(9, '""', f'"{D1}"')),
    ),
    Case(
        "hm-tag-key-sets-sibling-digest",
        VALUES,
        hm("image.tag"),
        "2.0",
        D1,
        edits=(Sub(8, '"1.9"', '"2.0"'), Sub(9, '""', f'"{D1}"')),
    ),
    Case(
        "hm-repository-check-passes",
        VALUES,
        hm("image", API),
        "2.0",
        edits=(Sub(8, '"1.9"', '"2.0"'),),
    ),
    Case(
        "hm-repository-check-refuses",
        VALUES,
        hm("sidecars[0].image.tag", API),
        "v9",
        refuse="belongs to repository 'envoyproxy/envoy'",
    ),
    Case(
        "hm-list-index",
        VALUES,
        hm("sidecars[0].image.tag"),
        "v1.31.0",
        edits=(Sub(21, "v1.30.1", "v1.31.0"),),
    ),
    Case(
        "hm-repository-check-refuses-when-absent",
        VALUES,
        hm("empty.tag", API),
        "v3",
        refuse="values.yaml:31: cannot check the repository: no repository, "
        "name or image key next to the value",
    ),
    Case(
        "hm-list-step-without-index",
        VALUES,
        hm("sidecars.0.image.tag"),
        "v1",
        refuse="key 'sidecars.0.image.tag' not found: sidecars is a list; "
        "use sidecars[0]",
    ),
    Case(
        "hm-list-step-by-name",
        VALUES,
        hm("sidecars.proxy.image.tag"),
        "v1",
        refuse="sidecars is a list, not a mapping with key 'proxy'; "
        "index it, e.g. sidecars[0]",
    ),
    Case(
        "hm-index-into-a-mapping",
        VALUES,
        hm("image[0].tag"),
        "v1",
        refuse="key 'image[0].tag' not found: image is a mapping, not a list; "
        "it has no [0]",
    ),
    Case(
        "hm-free-text-refused",
        VALUES,
        hm("description"),
        "9",
        refuse="values.yaml:38: key 'description' holds 'A very long line "
        "that must never be fold...', which is not a tag, digest or image "
        "reference (it contains whitespace)",
    ),
    Case(
        "hm-list-index-out-of-range",
        VALUES,
        hm("sidecars[5].image.tag"),
        "v1",
        refuse="sidecars has 2 list items, no [5]",
    ),
    Case(
        "hm-tag-at-digest-tag-only",
        VALUES,
        hm("worker.image.tag"),
        "1.10.0",
        edits=(Sub(15, "1.9.0@sha256:" + "2" * 64, "1.10.0"),),
    ),
    Case(
        "hm-tag-at-digest-both",
        VALUES,
        hm("worker.image.tag"),
        "1.10.0",
        D1,
        edits=(Sub(15, "1.9.0@sha256:" + "2" * 64, f"1.10.0@{D1}"),),
    ),
    Case(
        "hm-inline-reference",
        VALUES,
        hm("inline"),
        "1.27-alpine",
        edits=(Sub(27, "nginx:1.25-alpine ", "nginx:1.27-alpine "),),
    ),
    Case(
        "hm-flow-mapping",
        VALUES,
        hm("flow.tag"),
        "7.4",
        edits=(Sub(28, "'7.2'", "'7.4'"),),
    ),
    Case(
        "hm-empty-value",
        VALUES,
        hm("empty.tag"),
        "v3",
        edits=(Sub(30, "tag:", "tag: v3"),),
    ),
    Case(
        "hm-null-value-quoted",
        VALUES,
        hm("nulltag.tag"),
        "1.10",
        edits=(Sub(32, "null", '"1.10"'),),
    ),
    Case(
        "hm-digest-key",
        VALUES,
        hm("digestonly.digest"),
        digest=D1,
        edits=(Sub(34, "sha256:" + "3" * 64, D1),),
    ),
    Case(
        "hm-digest-key-needs-digest",
        VALUES,
        hm("digestonly.digest"),
        "v1",
        refuse="the value is a digest; pass --digest",
    ),
    Case(
        "hm-anchor-changed-at-anchor",
        VALUES,
        hm("defaults.tag"),
        "v1.1.0",
        edits=(Sub(3, "&shared-tag v1.0.0 ", "&shared-tag v1.1.0 "),),
    ),
    Case(
        "hm-alias-refused",
        VALUES,
        hm("sidecars[1].image.tag"),
        "v2",
        refuse="alias of the anchor &shared-tag at line 3",
    ),
    Case("hm-block-scalar-refused", VALUES, hm("config"), "v2", refuse="block scalar"),
    Case(
        "hm-several-keys",
        VALUES,
        hm("image.tag, sidecars[0].image.tag"),
        "v9",
        edits=(Sub(8, '"1.9"', '"v9"'), Sub(21, "v1.30.1", "v9")),
    ),
    Case(
        "hm-missing-key-not-created",
        VALUES,
        hm("image.version"),
        "v1",
        refuse="image has no key 'version' (keys there: registry, repository",
    ),
    Case(
        "hm-bad-key-path",
        VALUES,
        hm("image..tag"),
        "v1",
        refuse="key path 'image..tag' is malformed",
    ),
]

# Values keys hold today take the new version; text that is none is refused.
CURRENT_VALUES = [
    Case(
        "cv-latest",
        CURRENT,
        hm("latest.tag"),
        "1.1",
        edits=(Sub(3, "latest", '"1.1"'),),
    ),
    Case("cv-numeric", CURRENT, hm("numeric.tag"), "v2", edits=(Sub(5, "1.10", "v2"),)),
    Case(
        "cv-tag-at-digest",
        CURRENT,
        hm("pinned.tag"),
        "2.1",
        D1,
        edits=(Sub(7, f"2.0@{D4}", f"2.1@{D1}"),),
    ),
    Case(
        "cv-reference",
        CURRENT,
        hm("reference.image", "ghcr.io/org/app"),
        "1.1",
        edits=(Sub(9, "app:1.0 ", "app:1.1 "),),
    ),
    Case("cv-digest", CURRENT, hm("bare.sha"), digest=D1, edits=(Sub(11, D4, D1),)),
    Case(
        "cv-quoted-null-is-a-tag",
        CURRENT,
        hm("quoted.tag"),
        "v2",
        edits=(Sub(13, '"null"', '"v2"'),),
    ),
    Case("cv-tilde", CURRENT, hm("tilde.tag"), "v2", edits=(Sub(15, "~", "v2"),)),
    Case(
        "cv-template-refused",
        CURRENT,
        hm("template.tag"),
        "v2",
        refuse="current-values.yaml:18: key 'template.tag' holds "
        "'{{ .Chart.AppVersion }}', which is not a tag, digest or image "
        "reference (it contains whitespace)",
    ),
    Case(
        "cv-sentence-with-colon-refused",
        CURRENT,
        hm("sentence.tag"),
        "v2",
        refuse="current-values.yaml:20: key 'sentence.tag' holds 'see: the docs', "
        "which is not a tag, digest or image reference (it contains whitespace)",
    ),
    Case(
        "cv-bad-tag-refused",
        CURRENT,
        hm("build.tag"),
        "v2",
        refuse="current-values.yaml:22: key 'build.tag' holds 'v1.0+build.7', "
        "which is not a tag, digest or image reference (it does not parse as one)",
    ),
    Case(
        "cv-bad-reference-refused",
        CURRENT,
        hm("uppercase"),
        "v2",
        refuse="current-values.yaml:23: key 'uppercase' holds 'Shop/API:1.0', "
        "which is not a tag, digest or image reference (it does not parse as one)",
    ),
    Case(
        "cv-digest-key-with-text-refused",
        CURRENT,
        hm("pending.digest"),
        digest=D1,
        refuse="current-values.yaml:25: key 'pending.digest' holds 'pending', "
        "which is not a tag, digest or image reference (a digest key holds "
        "sha256:<hex> or nothing)",
    ),
    Case(
        "cv-image-block-with-text-refused",
        CURRENT,
        hm("block", "org/app"),
        "v2",
        refuse="current-values.yaml:28: key 'block.tag' holds 'to be decided', "
        "which is not a tag, digest or image reference (it contains whitespace)",
    ),
]

# Every spelling of Docker Hub's nginx; the one in the block scalar stays.
NGINX_EDITS = (
    Sub(18, "image: nginx}", 'image: "nginx:1.27"}'),
    Sub(44, "nginx:1.25", "nginx:1.27"),
    Sub(53, "nginx:1.25", "nginx:1.27"),
)
FLUX_APP_EDITS = (Sub(10, "app:v1.0.0", "app:v1.1.0"), Sub(16, "v1.0.0", "v1.1.0"))

MANIFESTS = [
    Case(
        "mf-port-registry-init-and-main",
        WORKLOADS,
        mf(API),
        "1.5.0",
        edits=(Sub(12, "api:1.4.0 ", "api:1.5.0 "), Sub(14, "api:1.4.0", "api:1.5.0")),
    ),
    Case(
        "mf-docker-normalisation",
        WORKLOADS,
        mf("nginx"),
        "1.27",
        edits=NGINX_EDITS,
    ),
    Case(
        "mf-normalised-target",
        WORKLOADS,
        mf("docker.io/library/nginx"),
        "1.27",
        edits=NGINX_EDITS,
    ),
    Case(
        "mf-quoted-stale-digest-dropped",
        WORKLOADS,
        mf("redis"),
        "7.4",
        edits=(Sub(17, '"redis:7.2@sha256:' + "4" * 64 + '"', '"redis:7.4"'),),
    ),
    Case(
        "mf-quoted-digest-only",
        WORKLOADS,
        mf("redis"),
        digest=D1,
        edits=(Sub(17, "sha256:" + "4" * 64, D1),),
    ),
    Case(
        "mf-ephemeral-container",
        WORKLOADS,
        mf("busybox"),
        "1.37",
        edits=(Sub(56, "busybox:1.36", "busybox:1.37"),),
    ),
    Case("mf-same-tag", WORKLOADS, mf("busybox"), "1.36"),
    Case(
        "mf-not-found-lists-images",
        WORKLOADS,
        mf("shop/api"),
        "1",
        refuse="container images found: registry.example.com:5000/shop/api:1.4.0 "
        "(line 12)",
    ),
    Case(
        "mf-tag-in-target-refused",
        WORKLOADS,
        mf("nginx:1.0"),
        "1",
        refuse="must name a repository only",
    ),
]

WEB = "registry.example.com/shop/web"
SHOP_API = "ghcr.io/shop/api"
WEB_EDIT = Sub(16, "web:1.0.0 ", "web:1.1.0 ")
# The plain Deployment, the CronJob in a List, the kind-less DeploymentList item.
SHOP_API_EDITS = (
    Sub(10, "api:2.0.0", "api:2.1.0"),
    Sub(31, '"ghcr.io/shop/api:2.0.0"', '"ghcr.io/shop/api:2.1.0"'),
    Sub(47, "ghcr.io/shop/api@sha256:" + "d" * 64, '"ghcr.io/shop/api:2.1.0"'),
)

# Workloads among a List's items; the Service, the annotation and the
# ConfigMap's block scalar holding the same reference stay.
MANIFEST_LISTS = [
    Case("mf-list-deployment", LIST, mf(WEB), "1.1.0", edits=(WEB_EDIT,)),
    Case("mf-list-auto-detected", LIST, Target(image=WEB), "1.1.0", edits=(WEB_EDIT,)),
    Case("mf-list-same-tag", LIST, mf(WEB), "1.0.0"),
    Case(
        "mf-list-quoted-second-container",
        LIST,
        mf("envoyproxy/envoy"),
        "v1.31.0",
        edits=(Sub(18, "'envoyproxy/envoy:v1.30.1'", "'envoyproxy/envoy:v1.31.0'"),),
    ),
    Case(
        "mf-list-beside-documents-all-bumped",
        LIST_MULTIDOC,
        Target(image=SHOP_API),
        "2.1.0",
        edits=SHOP_API_EDITS,
    ),
    Case(
        "mf-list-cronjob-init-container",
        LIST_MULTIDOC,
        mf("busybox"),
        "1.37",
        edits=(Sub(28, "busybox:1.36", "busybox:1.37"),),
    ),
    Case(
        "mf-list-not-found-lists-item-images-by-line",
        LIST,
        mf("registry.example.com/shop/api"),
        "1",
        refuse="image 'registry.example.com/shop/api' not found in any container; "
        "container images found: registry.example.com/shop/web:1.0.0 (line 16), "
        "envoyproxy/envoy:v1.30.1 (line 18)",
    ),
    Case(
        "mf-list-prefix-is-not-the-repository",
        LIST_MULTIDOC,
        mf("ghcr.io/shop"),
        "1",
        refuse="container images found: ghcr.io/shop/api:2.0.0 (line 10), "
        "busybox:1.36 (line 28), ghcr.io/shop/api:2.0.0 (line 31), "
        "ghcr.io/shop/api@sha256:",
    ),
]

ARGOCD = [
    Case(
        "ac-alias", APP, ac("api"), "1.5.0", edits=(Sub(10, "api:1.4.0", "api:1.5.0"),)
    ),
    Case(
        "ac-aliased-repository-is-not-the-target",
        APP,
        ac(API),
        "1.5.0",
        refuse="no kustomize.images entry for",
    ),
    Case(
        "ac-digest-only-untagged",
        APP,
        ac("registry.example.com/shop/worker"),
        digest=D1,
        edits=(Sub(11, "sha256:" + "5" * 64, D1),),
    ),
    Case(
        "ac-tag-drops-stale-digest",
        APP,
        ac("registry.example.com/shop/worker"),
        "v3",
        edits=(Sub(11, "worker@sha256:" + "5" * 64, "worker:v3"),),
    ),
    Case(
        "ac-quoted-entry",
        APP,
        ac("quay.io/org/frontend"),
        "2.1",
        edits=(Sub(12, '"quay.io/org/frontend:2.0"', '"quay.io/org/frontend:2.1"'),),
    ),
    Case(
        "ac-helm-parameter",
        APP,
        ac(key="image.tag"),
        "1.10",
        edits=(Sub(16, "'1.0'", "'1.10'"),),
    ),
    Case(
        "ac-helm-parameter-missing",
        APP,
        ac(key="image.repository"),
        "1",
        refuse="parameters found: image.tag (line 15), replicaCount (line 17)",
    ),
    Case(
        "ac-parameter-cannot-check-a-repository",
        APP,
        Target(image="registry.example.com/shop/api", key="image.tag"),
        "1.10",
        refuse="--image with --key checks the repository beside a Helm value; "
        "a helm.parameters value has none beside it: drop --image",
    ),
    Case(
        "ac-source-file-auto",
        SOURCE,
        Target(key="image.tag"),
        "v2",
        edits=(Sub(4, "v1", "v2"),),
    ),
]

FLUX = [
    Case(
        "fx-whole-and-tag-markers",
        SETTERS,
        fx("flux-system:app"),
        "v1.1.0",
        edits=FLUX_APP_EDITS,
    ),
    Case(
        "fx-tag-and-digest",
        SETTERS,
        fx("flux-system:app"),
        "v1.1.0",
        D1,
        edits=(
            Sub(10, "app:v1.0.0", f"app:v1.1.0@{D1}"),
            Sub(16, "v1.0.0", "v1.1.0"),
            Sub(17, '""', f'"{D1}"'),
        ),
    ),
    Case(
        "fx-other-policy-only",
        SETTERS,
        fx("flux-system:other"),
        "v2",
        edits=(Sub(12, "app:v1.0.0", "app:v2"),),
    ),
    Case(
        "fx-auto-detected-by-policy",
        SETTERS,
        Target(policy="flux-system:app"),
        "v1.1.0",
        edits=FLUX_APP_EDITS,
    ),
    Case(
        "fx-missing-policy",
        SETTERS,
        fx("flux-system:nope"),
        "v2",
        refuse="policies marked: flux-system:app, flux-system:other",
    ),
    Case(
        "fx-kind-flux-needs-policy",
        VALUES,
        Target("flux", key="image.tag"),
        "v2",
        refuse="values.yaml: Flux setter files need --policy NS:NAME "
        "(kind flux from --kind flux)",
    ),
    Case(
        "fx-suffix-in-target-refused",
        SETTERS,
        fx("flux-system:app:tag"),
        "v2",
        refuse="must be NAMESPACE:NAME",
    ),
]

# Markers that take only some fields: a request none takes is refused.
FLUX_PARTIAL = [
    Case(
        "fx-digest-only-changes-the-markers-that-take-it",
        SETTERS,
        fx("flux-system:app"),
        digest=D1,
        edits=(Sub(10, "app:v1.0.0", f"app:v1.0.0@{D1}"), Sub(17, '""', f'"{D1}"')),
    ),
    Case(
        "fx-tag-markers-refuse-a-digest",
        PARTIAL,
        fx("flux-system:app"),
        digest=D1,
        refuse="no $imagepolicy marker for 'flux-system:app' takes a digest: "
        "line 4 flux-system:app:name takes nothing: the image name stays; "
        "line 5 flux-system:app:tag takes a tag only; pass --tag",
    ),
    Case(
        "fx-tag-markers-take-the-tag-of-tag-and-digest",
        PARTIAL,
        fx("flux-system:app"),
        "v1.1.0",
        D1,
        edits=(Sub(5, "v1.0.0", "v1.1.0"),),
        notes=(
            "flux/partial-markers.yaml: no $imagepolicy marker for "
            "'flux-system:app' takes a digest; it is not written",
        ),
    ),
    Case(
        "fx-digest-markers-refuse-a-tag",
        PARTIAL,
        fx("flux-system:side"),
        "v2",
        refuse="no $imagepolicy marker for 'flux-system:side' takes a tag: "
        "line 7 flux-system:side:digest takes a digest only; pass --digest",
    ),
    Case(
        "fx-digest-markers-take-a-digest",
        PARTIAL,
        fx("flux-system:side"),
        digest=D1,
        edits=(Sub(7, "sha256:" + "6" * 64, D1),),
    ),
    Case(
        "fx-name-markers-refuse-everything",
        PARTIAL,
        fx("flux-system:names"),
        "v2",
        D1,
        refuse="takes a tag or digest: line 9 flux-system:names:name takes "
        "nothing: the image name stays; add a :tag or :digest marker for it",
    ),
]

BROKEN = [
    Case(
        "yaml-syntax-error",
        "broken/unclosed.yaml",
        hm("image.tag"),
        "v2",
        refuse="does not parse at line 4, column 1",
    ),
    Case(
        "duplicate-key",
        "broken/duplicate.yaml",
        hm("image.tag"),
        "v2",
        refuse="duplicate key 'tag' in one mapping, at line 2 and line 4",
    ),
    Case(
        "crlf-service-has-no-image",
        "broken/service.yaml",
        mf("app"),
        "v2",
        refuse="not found in any container; container images found: none",
    ),
]

CASES = (
    KUSTOMIZE
    + KUSTOMIZE_NEW_NAME
    + NEW_NAME_ELSEWHERE
    + HELM
    + CURRENT_VALUES
    + MANIFESTS
    + MANIFEST_LISTS
    + ARGOCD
    + FLUX
    + FLUX_PARTIAL
    + BROKEN
)
