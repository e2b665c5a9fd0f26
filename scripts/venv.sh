# Sourced by scripts/dev.sh and scripts/test.sh: make .venv (with $PYTHON,
# default python3.11, else python3) if it is missing, then install the
# requirements file given as $1 into it.
ensure_venv() {
  local requirements=$1
  PYTHON=${PYTHON:-python3.11}
  command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
  if [ ! -x .venv/bin/python ]; then
    echo "==> Creating .venv with $PYTHON"
    "$PYTHON" -m venv .venv
  fi
  echo "==> Installing requirements"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$requirements"
}
