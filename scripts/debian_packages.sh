# Sourced by scripts/test.sh and scripts/dev.sh: install Debian packages whose
# files are missing, as root or with passwordless sudo.
#   ensure_debian_packages STRICT FILE=PACKAGE ...
# installs the PACKAGE of every FILE that does not exist. With STRICT=1 a
# package that cannot be installed stops the script (exit 2); with STRICT=0 it
# only warns. The PDFs' fonts (ledger/fonts.py) come from here:
PDF_FONT_PACKAGES=(
  /usr/share/fonts/truetype/noto/NotoSans-Regular.ttf=fonts-noto-core
  /usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf=fonts-noto-core
  /usr/share/fonts/truetype/noto/NotoSansHebrew-Regular.ttf=fonts-noto-core
  /usr/share/fonts/truetype/wqy/wqy-microhei.ttc=fonts-wqy-microhei
)

ensure_debian_packages() {
  local strict=$1
  shift
  local missing=() item file package
  for item in "$@"; do
    file=${item%%=*}
    package=${item#*=}
    if [ ! -e "$file" ] && [[ " ${missing[*]} " != *" $package "* ]]; then
      missing+=("$package")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> Installing Debian packages: ${missing[*]}"
  local as_root=()
  if [ "$(id -u)" -eq 0 ]; then
    as_root=(env DEBIAN_FRONTEND=noninteractive)
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n env DEBIAN_FRONTEND=noninteractive)
  fi
  if [ ${#as_root[@]} -eq 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "Cannot install ${missing[*]}: needs apt-get, and root or passwordless sudo." >&2
    echo "Install them once, as root:  apt-get install -y --no-install-recommends ${missing[*]}" >&2
    [ "$strict" = 1 ] && exit 2
    return 0
  fi
  # A fresh container has no package lists yet: update them and try once more.
  if ! "${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; then
    "${as_root[@]}" apt-get update && "${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}" || true
  fi
  for item in "$@"; do
    file=${item%%=*}
    if [ ! -e "$file" ]; then
      echo "Installing ${item#*=} failed: $file is still missing (see apt's output above)." >&2
      [ "$strict" = 1 ] && exit 2
    fi
  done
  return 0
}
