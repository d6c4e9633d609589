#!/usr/bin/env bash
# The documentation site (HTML), built the way docs.ansible.com is: `antsibull-docs sphinx-init` lays out a Sphinx
# project for the collection, `antsibull-docs collection` renders every module, the inventory plugin and the role
# (from meta/argument_specs.yml) into RST, and Sphinx builds the HTML with the guides (README, docs/*.md, the role's
# README, through myst-parser). Offline: no intersphinx inventory is fetched. Warnings fail the build.
#   scripts/docs-site.sh        -> .tmp/docsite/build/html/index.html
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_venv
cd "$REPO_ROOT"
"$REPO_ROOT/scripts/sync-collection.sh"
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_ROOT"

site="$REPO_ROOT/.tmp/docsite"
rm -rf "$site"
mkdir -p "$site"
"$VENV/bin/antsibull-docs" sphinx-init --use-current --dest-dir "$site" --fail-on-error \
    --no-add-antsibull-docs-version --project azbackup.dataprotection --copyright "azbackup.dataprotection contributors" \
    --title "azbackup.dataprotection" --html-short-title "azbackup.dataprotection" \
    azbackup.dataprotection >/dev/null
cat >>"$site/conf.py" <<'CONF'

# The guides are Markdown; intersphinx would fetch inventories from the network. Without them the pages' links to
# ansible-core's own documentation (common return values, configuration settings and their environment variables)
# have no target: those, and only those, are not warnings.
extensions.append("myst_parser")
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
myst_heading_anchors = 3
intersphinx_mapping = {}
nitpick_ignore_regex = [("std:ref", "common_return_values|ansible_configuration_settings"), ("std:envvar", "ANSIBLE_.*")]
CONF

mkdir -p "$site/rst"
chmod og-w "$site/rst"  # antsibull-docs wants the directory writable by its owner only
"$VENV/bin/antsibull-docs" --config-file "$site/antsibull-docs.cfg" collection --cleanup everything \
    --fail-on-error --use-current --dest-dir "$site/rst" azbackup.dataprotection

# Guides: copies with links between them rewritten to the site's pages, links to other repository files to GitHub.
guides="$site/rst/guides"
mkdir -p "$guides"
"$VENV_PY" - "$REPO_ROOT" "$guides" <<'PY'
import os
import re
import sys
from pathlib import Path

root, out = Path(sys.argv[1]), Path(sys.argv[2])
pages = {"README.md": "overview", "docs/architecture.md": "architecture", "docs/awx.md": "awx",
         "roles/pgflex_protection/README.md": "role_pgflex_protection"}
repo = "https://github.com/azbackup/azbackup.dataprotection/blob/main/"
for source, page in pages.items():
    text = (root / source).read_text(encoding="utf-8")
    base = Path(source).parent

    def link(match):
        target = match.group(2)
        if re.match(r"^[a-z]+:|^#", target):
            return match.group(0)
        path, _, anchor = target.partition("#")
        resolved = os.path.normpath((base / path).as_posix())
        if resolved in pages:
            return "[{0}]({1}.md{2})".format(match.group(1), pages[resolved], "#" + anchor if anchor else "")
        return "[{0}]({1}{2})".format(match.group(1), repo, resolved)

    (out / (page + ".md")).write_text(re.sub(r"\[([^\]]*)\]\(([^)\s]+)\)", link, text), encoding="utf-8")
PY
cat >>"$site/rst/index.rst" <<'RST'


.. toctree::
   :maxdepth: 2
   :caption: Guides:

   guides/overview
   guides/architecture
   guides/awx
   guides/role_pgflex_protection
RST

"$VENV/bin/sphinx-build" -M html "$site/rst" "$site/build" -c "$site" -W --keep-going -q
echo "docs-site: $site/build/html/index.html"
