"""Where a rule lives, checked by reading the code: who may do what is decided in the two access
modules and nowhere else, protected objects are fetched through their chokepoints, and work for
the background is queued one way. (The layers themselves are import-linter contracts in
pyproject.toml, run by scripts/check.)"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("accounts", "rectification", "config")

# The policy: the only modules that read a person's roles.
# The one module that reads a person's roles; rectification/access.py builds the findings' policy
# on its predicates (accounts may not import rectification, so the reader lives in accounts).
ROLE_READER = "accounts/access.py"
ACCESS_MODULES = {ROLE_READER}
# Modules that name roles as data, never to decide: the role definitions, the account model that
# reads its own groups, the security administrator's form and service that grant roles, the
# command that opens the first administrators, and the demo district's accounts.
ROLE_DATA_MODULES = ACCESS_MODULES | {
    "accounts/roles.py",
    "accounts/models.py",
    "accounts/forms.py",
    "accounts/services.py",
    "accounts/management/commands/create_admin_account.py",
    "rectification/demo.py",
}
# What a view must never fetch by id itself: each has a ``<type>_for_user`` in an access module.
PROTECTED_MODELS = {
    "Problem",
    "Measure",
    "ProgressReport",
    "Evidence",
    "Milestone",
    "CloseOutRequest",
    "SupervisionNotice",
    "CoordinationItem",
    "Penalty",
    "ExportJob",
    "MeasureChangeRequest",
    "Notification",
    "User",
    "Unit",
}
QUEUE_MODULE = "rectification/services/queue.py"
# The badges' generations are bumped once a write commits: an after-commit hook that hands no work on.
COUNTERS_MODULE = "rectification/counters.py"
AUDIT_MODULE = "rectification/services/audit.py"


def _sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative:
                yield relative, path.read_text(encoding="utf-8")


def _fetches_protected_by_id(node):
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "get_object_or_404"
        and bool(node.args)
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id in PROTECTED_MODELS
    )


def _audits_past_the_findings_wrapper(relative, node):
    return (
        isinstance(node, ast.ImportFrom)
        and relative.startswith("rectification/")
        and relative != AUDIT_MODULE
        and node.module == "accounts.services"
        and any(alias.name.startswith("audit_record") for alias in node.names)
    )


def violations(relative, source):
    """Each rule broken in one module, as "path:line: what"."""
    found = []
    tree = ast.parse(source, filename=relative)
    in_views = "/views" in relative or relative.endswith("views.py")

    def report(node, what):
        found.append(f"{relative}:{node.lineno}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name == "has_role" and relative not in ACCESS_MODULES:
                report(node, "a role check outside the access modules (ask a named predicate of access)")
            after_commit_hook = name == "on_commit" and relative == COUNTERS_MODULE
            if (
                name in {"delay", "apply_async", "send_task", "on_commit"}
                and relative != QUEUE_MODULE
                and not after_commit_hook
            ):
                report(node, f".{name}() outside services.queue (hand work on with task_after_commit)")
            by_role = [k.arg for k in node.keywords if k.arg and ("groups__name" in k.arg or "group__name" in k.arg)]
            if by_role and relative not in ACCESS_MODULES:
                report(node, "a query by role outside the access modules (use the people lookups of access)")
        reads_roles = isinstance(node, ast.Attribute) and node.attr in {"role_set", "TOTP_REQUIRED_ROLES"}
        if reads_roles and relative not in ACCESS_MODULES | {"accounts/models.py"}:
            report(node, f"reads {node.attr} outside the access modules")
        if _audits_past_the_findings_wrapper(relative, node):
            report(node, "writes audit rows past services.audit (which keeps findings' text out of them)")
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names_roles = module == "accounts.roles" or (module == "roles" and node.level == 1)
            if names_roles and relative not in ROLE_DATA_MODULES:
                report(node, "imports the roles outside the access modules")
        if in_views and _fetches_protected_by_id(node):
            report(node, f"fetches a {node.args[0].id} by id (use its <type>_for_user chokepoint)")
    return found


class TestTheCheckItself:
    """The walker must catch what it claims to, or the test below could pass on anything."""

    @pytest.mark.parametrize(
        "source",
        [
            "def view(request):\n    if request.user.has_role(Role.OFFICE):\n        pass\n",
            "from accounts.roles import Role\n",
            "from .roles import ADMIN_ROLES\n",
            "def f(user):\n    return user.role_set\n",
            "def f():\n    return User.objects.filter(groups__name='role:office')\n",
            "def f(job):\n    run_export_job.delay(job.pk)\n",
            "def f():\n    transaction.on_commit(lambda: None)\n",
            "from accounts.services import audit_record\n",
            "def detail(request, pk):\n    return get_object_or_404(Measure, pk=pk)\n",
        ],
    )
    def test_it_flags_a_planted_violation(self, source):
        assert violations("rectification/views/planted.py", source)

    def test_it_allows_the_same_in_the_role_reader_only(self):
        source = "from accounts.roles import Role\n\ndef f(user):\n    return user.has_role(Role.OFFICE)\n"
        assert violations("accounts/access.py", source) == []
        # The findings' policy asks the identity predicates; it reads no role itself.
        assert violations("rectification/access.py", source)


class TestWhereRulesLive:
    def test_it_finds_no_role_check_outside_the_access_modules(self):
        found = [line for relative, source in _sources() for line in violations(relative, source)]
        assert found == [], "\n".join(found)

    def test_it_reads_the_roles_in_one_function(self):
        tree = ast.parse((ROOT / ROLE_READER).read_text(encoding="utf-8"))
        calls = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "has_role"
        ]
        assert len(calls) == 1, [node.lineno for node in calls]

    def test_it_parses_no_number_with_isdigit(self):
        # "²".isdigit() is True and int("²") raises: a query parameter or a form field checked
        # that way answered 500 (the fuzz test found one). isdecimal() is what int() accepts.
        found = [
            f"{relative}:{number}"
            for relative, source in _sources()
            for number, line in enumerate(source.splitlines(), start=1)
            if ".isdigit()" in line
        ]
        assert found == [], found

    def test_no_template_comment_spans_lines(self):
        # Django's {# #} ends on its own line: one spread over two lines is shown to the user as text
        # (the first-week guide showed its developer's note). Longer notes use {% comment %}.
        found = [
            f"{path.relative_to(ROOT)}:{number}"
            for path in sorted((ROOT / "templates").rglob("*.html"))
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
            if "{#" in line and "#}" not in line[line.index("{#") :]
        ]
        assert found == [], found

    def test_it_reads_the_whole_project(self):
        # A walker that silently read nothing would pass the test above.
        read = dict(_sources())
        assert {"rectification/access.py", "rectification/views/ledger.py", "accounts/views.py"} <= set(read)
        assert len(read) > 60


def _strings_naming_rectification(source):
    """String constants in the code that name the findings' app (a URL name, a template, a
    module path), docstrings aside."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and ("rectification:" in node.value or "rectification/" in node.value or "rectification." in node.value)
    ]


class TestAccountsKnowsNoFindings:
    """accounts knows people, units and roles: it names nothing of rectification, in an import
    (the import-linter contract), a URL name, a template or a module path."""

    def test_it_finds_no_reference_in_the_code(self):
        found = {
            relative: names
            for relative, source in _sources()
            if relative.startswith("accounts/") and (names := _strings_naming_rectification(source))
        }
        assert found == {}

    def test_it_finds_no_reference_in_the_templates(self):
        found = [
            path.relative_to(ROOT).as_posix()
            for path in sorted((ROOT / "templates" / "accounts").rglob("*.html"))
            if "rectification" in path.read_text(encoding="utf-8")
        ]
        assert found == []

    def test_it_would_notice_one(self):
        assert _strings_naming_rectification('URL = "rectification:home"\n') == ["rectification:home"]
        assert _strings_naming_rectification('def f():\n    """About rectification.access."""\n') == []
