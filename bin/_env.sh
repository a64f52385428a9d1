# Shared by bin/demo and bin/test: a Python 3.12+ virtualenv in .venv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

pick_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3 python; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  # pyenv keeps 3.12 on these machines; .python-version selects it.
  if [ -x "$HOME/.pyenv/bin/pyenv" ] || command -v pyenv >/dev/null 2>&1; then
    local root; root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
    for dir in "$root"/versions/3.1[2-9]*; do
      [ -x "$dir/bin/python" ] && { echo "$dir/bin/python"; return 0; }
    done
  fi
  echo "Python 3.12 or newer is needed (set PYTHON=/path/to/python3.12)" >&2
  return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
  rm -rf .venv
  "$(pick_python)" -m venv .venv
fi
export PATH="$PWD/.venv/bin:$PATH"
python -m pip install --quiet --disable-pip-version-check --upgrade pip
